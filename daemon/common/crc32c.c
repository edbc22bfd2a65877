// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C (Castagnoli), as Kafka's record batches and kbroker's own files
 * use it: SSE 4.2 in three interleaved streams where the CPU has it,
 * slice-by-8 tables otherwise.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/crc32c.h"

/* Reflected polynomial 0x82f63b78. */
static uint32_t crc_tab[8][256];
static bool crc_ready;
static bool crc_hw;

/* Slice-by-8: eight table lookups per 8 input bytes. */
static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= c;		/* little-endian hosts only, as x86/arm64 */
		c = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		    crc_tab[5][(w >> 16) & 0xff] ^
		    crc_tab[4][(w >> 24) & 0xff] ^
		    crc_tab[3][(w >> 32) & 0xff] ^
		    crc_tab[2][(w >> 40) & 0xff] ^
		    crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
/*
 * crc32q has a latency of 3 cycles but a throughput of one per cycle, so one
 * dependency chain runs at a third of the speed the unit allows.  Three
 * streams over adjacent thirds of a block run in parallel and are combined
 * by shifting the first two CRCs over the bytes that follow them, a linear
 * operator on the CRC register applied with four table lookups (Mark
 * Adler's crc32c.c does the same).
 */
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t crc_long[4][256], crc_short[4][256];

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(uint32_t *sq, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		sq[n] = gf2_times(mat, mat[n]);
}

/* Tables applying @len (a power of two) zero bytes to a CRC register. */
static void crc_zeros_init(uint32_t zeros[4][256], size_t len)
{
	uint32_t a[32], b[32], *even = a, *odd = b, *t;

	odd[0] = 0x82f63b78;		/* one zero bit */
	for (int n = 1; n < 32; n++)
		odd[n] = 1u << (n - 1);
	gf2_square(even, odd);		/* two bits */
	gf2_square(odd, even);		/* four bits */
	for (;;) {
		gf2_square(even, odd);	/* 8, 32, 128... bits */
		len >>= 1;
		if (!len)
			break;
		gf2_square(odd, even);
		len >>= 1;
		if (!len) {
			t = even;
			even = odd;
			odd = t;
			break;
		}
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			zeros[k][n] = gf2_times(even, n << (8 * k));
}

static inline uint32_t crc_shift(const uint32_t zeros[4][256], uint32_t c)
{
	return zeros[0][c & 0xff] ^ zeros[1][(c >> 8) & 0xff] ^
	       zeros[2][(c >> 16) & 0xff] ^ zeros[3][c >> 24];
}

/* Three interleaved chains over blocks of 3 * @n bytes. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc_sse42_3way(uint64_t c0, const uint8_t **pp, size_t *lenp, size_t n,
	       const uint32_t zeros[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * n) {
		uint64_t c1 = 0, c2 = 0;

		for (const uint8_t *end = p + n; p < end; p += 8) {
			uint64_t w0, w1, w2;

			memcpy(&w0, p, 8);
			memcpy(&w1, p + n, 8);
			memcpy(&w2, p + 2 * n, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
		c0 = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c2;
		p += 2 * n;
		len -= 3 * n;
	}
	*pp = p;
	*lenp = len;
	return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t c64 = c;

	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	c64 = crc_sse42_3way(c64, &p, &len, CRC_LONG, crc_long);
	c64 = crc_sse42_3way(c64, &p, &len, CRC_SHORT, crc_short);
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		len -= 8;
	}
	c = (uint32_t)c64;
	while (len--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^
					crc_tab[0][crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
	crc_zeros_init(crc_long, CRC_LONG);
	crc_zeros_init(crc_short, CRC_SHORT);
#endif
	crc_ready = true;
}

uint32_t kb_crc32c(uint32_t crc, const void *buf, size_t len)
{
	uint32_t c = ~crc;

	if (!crc_ready)
		crc_init();
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_sse42(c, buf, len);
#endif
	return ~crc_sw(c, buf, len);
}
