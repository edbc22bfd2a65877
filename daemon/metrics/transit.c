// SPDX-License-Identifier: GPL-2.0
/* Loop side: connections, TLS and kTLS per listener, certificates. */
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certs/cert.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/loop.h"
#include "net/transport_tls.h"
#include "tls/tls.h"
#include "metrics/internal.h"

enum { T_PLAIN, T_TLS, T_KTLS, T_HANDSHAKE, T_N };

static const char *const transport[T_N] = {
	[T_PLAIN] = "plaintext", [T_TLS] = "tls", [T_KTLS] = "ktls",
	[T_HANDSHAKE] = "handshake",
};

static const char *const miss_reason[KB_KTLS_MISS_N] = {
	[KB_KTLS_MISS_NO_KERNEL] = "no_kernel_tls",
	[KB_KTLS_MISS_UNSUPPORTED] = "cipher_not_offloaded",
	[KB_KTLS_MISS_RX_TLS13] = "tls13_rx",
	[KB_KTLS_MISS_RX_UNSUPPORTED] = "rx_not_offloaded",
};

static const char *lname(struct kb_loop *l, int i)
{
	return l->b->cfg->listeners[i].name;
}

static void one_label(struct kb_labels *lb, const char *k, const char *v)
{
	kb_labels_init(lb);
	kb_labels_add(lb, k, v);
}

/* A per-listener counter of struct kb_listener_stats. */
static void per_listener(struct kb_loop *l, struct kb_expo *e,
			 const char *name, const char *help, size_t off)
{
	struct kb_labels lb;
	int i;

	kb_expo_family(e, name, KB_MT_COUNTER, help);
	for (i = 0; i < l->n_ls; i++) {
		one_label(&lb, "listener", lname(l, i));
		kb_expo_u64(e, name, &lb,
			    *(const uint64_t *)((const char *)&l->ls[i].st +
						off));
	}
}

void kb_mc_transit(struct kb_loop *l, struct kb_expo *e)
{
	uint64_t open[KB_MAX_LISTENERS][T_N] = { { 0 } };
	struct kb_labels lb;
	struct kb_conn *c;
	int i, t, p;

	for (c = l->conns; c; c = c->next) {
		if (c->listener < 0 || c->listener >= KB_MAX_LISTENERS)
			continue;
		t = c->state != KB_CONN_OPEN ? T_HANDSHAKE :
		    !c->is_tls ? T_PLAIN :
		    kb_tls_ktls_tx(&c->tr) ? T_KTLS : T_TLS;
		open[c->listener][t]++;
	}
	kb_expo_family(e, "kbroker_listener_connections", KB_MT_GAUGE,
		       "Connections open now, by transport: plaintext, tls (records in userspace), ktls (records sent by kernel TLS) or handshake (first byte or TLS handshake pending).");
	for (i = 0; i < l->n_ls; i++)
		for (t = 0; t < T_N; t++) {
			one_label(&lb, "listener", lname(l, i));
			kb_labels_add(&lb, "transport", transport[t]);
			kb_expo_u64(e, "kbroker_listener_connections", &lb,
				    open[i][t]);
		}
	kb_expo_family(e, "kbroker_listener_policy", KB_MT_GAUGE,
		       "The listener's policy as a state set: 1 for the policy in force (tls, tls_plaintext, plaintext).");
	for (i = 0; i < l->n_ls; i++)
		for (p = 0; p < 3; p++) {
			one_label(&lb, "listener", lname(l, i));
			kb_labels_add(&lb, "policy", kb_policy_name(p));
			kb_expo_u64(e, "kbroker_listener_policy", &lb,
				    (int)l->ls[i].policy == p);
		}
	per_listener(l, e, "kbroker_listener_accepted_connections_total",
		     "Connections accepted by kbrokerd.",
		     offsetof(struct kb_listener_stats, accepted));
	kb_expo_family(e, "kbroker_listener_rejected_connections_total",
		       KB_MT_COUNTER,
		       "Connections kbrokerd closed before serving them: policy (first byte not allowed by the listener policy) or module (refused by the kbroker module).");
	for (i = 0; i < l->n_ls; i++) {
		one_label(&lb, "listener", lname(l, i));
		kb_labels_add(&lb, "reason", "policy");
		kb_expo_u64(e, "kbroker_listener_rejected_connections_total",
			    &lb, l->ls[i].st.rejected_policy);
		one_label(&lb, "listener", lname(l, i));
		kb_labels_add(&lb, "reason", "module");
		kb_expo_u64(e, "kbroker_listener_rejected_connections_total",
			    &lb, l->ls[i].st.rejected_module);
	}
	kb_expo_family(e, "kbroker_listener_tls_handshakes_total",
		       KB_MT_COUNTER,
		       "TLS handshakes by result: ok, failed, timeout (no first byte or handshake within ssl.handshake.timeout.ms).");
	for (i = 0; i < l->n_ls; i++) {
		static const char *const res[] = { "ok", "failed", "timeout" };
		const uint64_t v[] = { l->ls[i].st.handshakes_ok,
				       l->ls[i].st.handshakes_failed,
				       l->ls[i].st.handshakes_timeout };

		for (t = 0; t < 3; t++) {
			one_label(&lb, "listener", lname(l, i));
			kb_labels_add(&lb, "result", res[t]);
			kb_expo_u64(e, "kbroker_listener_tls_handshakes_total",
				    &lb, v[t]);
		}
	}
	kb_expo_family(e, "kbroker_listener_ktls_offloads_total", KB_MT_COUNTER,
		       "TLS connections whose records kernel TLS took over after the handshake, by direction (tx, rx).");
	for (i = 0; i < l->n_ls; i++) {
		one_label(&lb, "listener", lname(l, i));
		kb_labels_add(&lb, "direction", "tx");
		kb_expo_u64(e, "kbroker_listener_ktls_offloads_total", &lb,
			    l->ls[i].st.ktls_tx);
		one_label(&lb, "listener", lname(l, i));
		kb_labels_add(&lb, "direction", "rx");
		kb_expo_u64(e, "kbroker_listener_ktls_offloads_total", &lb,
			    l->ls[i].st.ktls_rx);
	}
	kb_expo_family(e, "kbroker_listener_ktls_fallbacks_total",
		       KB_MT_COUNTER,
		       "TLS connections left (wholly or on receive) to userspace TLS, by reason: no_kernel_tls, cipher_not_offloaded, tls13_rx (OpenSSL 3.0 offloads TLS 1.3 send only), rx_not_offloaded.");
	for (i = 0; i < l->n_ls; i++)
		for (t = 0; t < KB_KTLS_MISS_N; t++) {
			one_label(&lb, "listener", lname(l, i));
			kb_labels_add(&lb, "reason", miss_reason[t]);
			kb_expo_u64(e, "kbroker_listener_ktls_fallbacks_total",
				    &lb, l->ls[i].st.ktls_miss[t]);
		}
	per_listener(l, e, "kbroker_listener_received_bytes_total",
		     "Bytes of Kafka requests received (after TLS decryption).",
		     offsetof(struct kb_listener_stats, bytes_in));
	per_listener(l, e, "kbroker_listener_sent_bytes_total",
		     "Bytes of Kafka responses sent (before TLS encryption), file data by sendfile included.",
		     offsetof(struct kb_listener_stats, bytes_out));
}

static void cert_sample(struct kb_expo *e, const char *listener, int pos,
			X509 *x)
{
	struct kb_labels lb;

	one_label(&lb, "listener", listener);
	kb_labels_addu(&lb, "position", (uint64_t)pos);
	kb_expo_i64(e, "kbroker_tls_certificate_expires_at_timestamp_seconds",
		    &lb, (int64_t)kb_cert_not_after(x));
}

void kb_mc_certs(struct kb_loop *l, struct kb_expo *e)
{
	struct kb_cert_rotations r;
	bool maint = kb_cert_in_maintenance();
	struct kb_labels lb;
	int i, k;

	kb_expo_family(e, "kbroker_tls_certificate_expires_at_timestamp_seconds",
		       KB_MT_GAUGE,
		       "notAfter of each certificate a TLS listener serves, as Unix time; position 0 is the leaf, then the chain in the order served.");
	for (i = 0; i < l->n_ls; i++) {
		SSL_CTX *ctx = l->ls[i].tls_ctx;
		STACK_OF(X509) *chain = NULL;
		X509 *leaf;

		if (!ctx)
			continue;
		leaf = SSL_CTX_get0_certificate(ctx);
		if (!leaf)
			continue;
		cert_sample(e, lname(l, i), 0, leaf);
		SSL_CTX_get0_chain_certs(ctx, &chain);
		for (k = 0; chain && k < sk_X509_num(chain) && k < 16; k++)
			cert_sample(e, lname(l, i), k + 1,
				    sk_X509_value(chain, k));
	}
	kb_cert_rotations(&r);
	kb_expo_family(e, "kbroker_tls_certificate_rotations_total",
		       KB_MT_COUNTER,
		       "Certificate maintenance windows (renewal, SIGHUP reload, kbrokerctl) by result: ok, or failed and rolled back.");
	one_label(&lb, "result", "ok");
	kb_expo_u64(e, "kbroker_tls_certificate_rotations_total", &lb, r.ok);
	one_label(&lb, "result", "failed");
	kb_expo_u64(e, "kbroker_tls_certificate_rotations_total", &lb,
		    r.failed);
	if (r.last_time) {
		kb_expo_one(e, "kbroker_tls_certificate_last_rotation_timestamp_seconds",
			    KB_MT_GAUGE,
			    "When the last certificate window ended, as Unix time (absent before the first).",
			    (double)r.last_time);
		kb_expo_one(e, "kbroker_tls_certificate_last_rotation_success",
			    KB_MT_GAUGE,
			    "1 when the last certificate window succeeded, 0 when it failed and was rolled back.",
			    r.last_ok);
	}
	kb_expo_family(e, "kbroker_broker_state", KB_MT_GAUGE,
		       "The broker state as a state set: MAINTENANCE while certificates are swapped (updates refused), else ACTIVE.");
	one_label(&lb, "state", "ACTIVE");
	kb_expo_u64(e, "kbroker_broker_state", &lb, !maint);
	one_label(&lb, "state", "MAINTENANCE");
	kb_expo_u64(e, "kbroker_broker_state", &lb, maint);
}
