// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP thread side, read fresh at every scrape without the loop: the
 * process (the standard process_* names), build info, the kbroker
 * module's sysfs counters, volumes and log dir space.
 */
#include <dirent.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "keys/volume_ops.h"
#include "metrics/internal.h"

#define SYSFS "/sys/kernel/kbroker"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = -1;

	buf[0] = '\0';
	if (!f)
		return -1;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	fclose(f);
	return ret;
}

static double boot_time(void)
{
	static double btime = -1;
	char line[256];
	FILE *f;

	if (btime >= 0)
		return btime;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "btime ", 6))
			btime = strtod(line + 6, NULL);
	fclose(f);
	return btime < 0 ? 0 : btime;
}

static uint64_t count_fds(void)
{
	struct dirent *de;
	uint64_t n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n - 1 : 0;	/* not the one reading the directory */
}

void kb_mc_process(struct kb_expo *e, const char *version)
{
	double tck = (double)sysconf(_SC_CLK_TCK);
	unsigned long long ut = 0, st = 0, start = 0, vsize = 0;
	long long rss = 0;
	char buf[1024], *p;
	struct kb_labels lb;
	struct rlimit rl;
	FILE *f;

	f = fopen("/proc/self/stat", "re");
	/* The command name may hold anything: fields start after its ')'. */
	p = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	if (p)
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
		       &ut, &st, &start, &vsize, &rss);
	if (f)
		fclose(f);
	kb_expo_one(e, "process_cpu_seconds_total", KB_MT_COUNTER,
		    "Total user and system CPU time spent in seconds.",
		    (double)(ut + st) / tck);
	kb_expo_one(e, "process_start_time_seconds", KB_MT_GAUGE,
		    "Start time of the process since unix epoch in seconds.",
		    boot_time() + (double)start / tck);
	kb_expo_one(e, "process_resident_memory_bytes", KB_MT_GAUGE,
		    "Resident memory size in bytes.",
		    (double)rss * (double)sysconf(_SC_PAGESIZE));
	kb_expo_one(e, "process_virtual_memory_bytes", KB_MT_GAUGE,
		    "Virtual memory size in bytes.", (double)vsize);
	kb_expo_one(e, "process_open_fds", KB_MT_GAUGE,
		    "Number of open file descriptors.", (double)count_fds());
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		kb_expo_one(e, "process_max_fds", KB_MT_GAUGE,
			    "Maximum number of open file descriptors.",
			    rl.rlim_cur == RLIM_INFINITY ? -1 :
			    (double)rl.rlim_cur);
	kb_expo_family(e, "kbroker_build_info", KB_MT_INFO,
		       "kbrokerd's version and the libraries it runs with.");
	kb_labels_init(&lb);
	kb_labels_add(&lb, "version", version);
	kb_labels_add(&lb, "openssl", OpenSSL_version(OPENSSL_VERSION));
	kb_labels_add(&lb, "libmicrohttpd", MHD_get_version());
	kb_expo_u64(e, "kbroker_build_info", &lb, 1);
}

/* Sorted names in @dir, at most @max of @len bytes each. */
static int list_dir(const char *dir, char (*names)[96], int max)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 96)
			continue;
		strcpy(names[n++], de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]),
	      (int (*)(const void *, const void *))strcmp);
	return n;
}

static void sysfs_str(const char *dir, const char *name, const char *file,
		      char *buf, size_t len)
{
	char path[320];

	snprintf(path, sizeof(path), SYSFS "/%.16s/%.95s/%.32s", dir, name,
		 file);
	read_line(path, buf, len);
}

static uint64_t sysfs_u64(const char *dir, const char *name,
			  const char *file)
{
	char buf[32];

	sysfs_str(dir, name, file, buf, sizeof(buf));
	return strtoull(buf, NULL, 10);
}

static const struct {
	const char *file, *name, *label, *value;
	enum kb_expo_type type;
	const char *help;
} mod_counters[] = {
	{ "connections", "kbroker_module_listener_connections_total", NULL,
	  NULL, KB_MT_COUNTER,
	  "Connections the kbroker module saw start (SYN) on the listener's port." },
	{ "tls", "kbroker_module_listener_first_bytes_total", "transport",
	  "tls", KB_MT_COUNTER,
	  "Connections by their first byte as the module saw it: tls (a handshake record) or plaintext." },
	{ "plaintext", "kbroker_module_listener_first_bytes_total",
	  "transport", "plaintext", KB_MT_COUNTER, NULL },
	{ "ktls_tx", "kbroker_module_listener_ktls_sockets_total", "direction",
	  "tx", KB_MT_COUNTER,
	  "Broker sockets the module found with kernel TLS installed, by direction." },
	{ "ktls_rx", "kbroker_module_listener_ktls_sockets_total", "direction",
	  "rx", KB_MT_COUNTER, NULL },
	{ "userspace_tls", "kbroker_module_listener_userspace_tls_sockets_total",
	  NULL, NULL, KB_MT_COUNTER,
	  "TLS sockets the module found without kernel TLS send." },
	{ "rejected", "kbroker_module_listener_rejected_connections_total",
	  NULL, NULL, KB_MT_COUNTER,
	  "Connections the module reset (or SYNs it dropped) for the listener policy." },
	{ "tracked", "kbroker_module_listener_tracked_connections", NULL, NULL,
	  KB_MT_GAUGE, "Connections the module tracks now." },
};

void kb_mc_module(struct kb_expo *e, const struct kb_config *cfg)
{
	static char names[64][96];
	struct kb_labels lb;
	size_t c;
	int n, i;

	(void)cfg;
	n = list_dir(SYSFS "/listeners", names, 64);
	kb_expo_one(e, "kbroker_module_loaded", KB_MT_GAUGE,
		    "1 when the kbroker module is loaded (/sys/kernel/kbroker exists).",
		    n >= 0);
	if (n < 0)
		return;
	for (c = 0; c < sizeof(mod_counters) / sizeof(mod_counters[0]); c++) {
		if (mod_counters[c].help)
			kb_expo_family(e, mod_counters[c].name,
				       mod_counters[c].type,
				       mod_counters[c].help);
		for (i = 0; i < n; i++) {
			kb_labels_init(&lb);
			kb_labels_add(&lb, "listener", names[i]);
			if (mod_counters[c].label)
				kb_labels_add(&lb, mod_counters[c].label,
					      mod_counters[c].value);
			kb_expo_u64(e, mod_counters[c].name, &lb,
				    sysfs_u64("listeners", names[i],
					      mod_counters[c].file));
		}
	}
	n = list_dir(SYSFS "/volumes", names, 64);
	kb_expo_family(e, "kbroker_volume_state", KB_MT_GAUGE,
		       "Each kbroker volume the module knows, as a state set: open is 1 while its dm-crypt map is usable.");
	for (i = 0; i < n; i++) {
		char label[96], state[32];

		sysfs_str("volumes", names[i], "label", label, sizeof(label));
		sysfs_str("volumes", names[i], "state", state, sizeof(state));
		kb_labels_init(&lb);
		kb_labels_add(&lb, "volume", *label ? label : names[i]);
		kb_labels_add(&lb, "state", "open");
		kb_expo_u64(e, "kbroker_volume_state", &lb,
			    !strcmp(state, "open"));
		if (strcmp(state, "open")) {
			kb_labels_init(&lb);
			kb_labels_add(&lb, "volume",
				      *label ? label : names[i]);
			kb_labels_add(&lb, "state", *state ? state : "unknown");
			kb_expo_u64(e, "kbroker_volume_state", &lb, 1);
		}
	}
	kb_expo_family(e, "kbroker_volume_info", KB_MT_INFO,
		       "Each kbroker volume: UUID, dm-crypt cipher and whose master key unwrapped its data key (key_source customer or default).");
	for (i = 0; i < n; i++) {
		char label[96], cipher[64], mk[128];

		sysfs_str("volumes", names[i], "label", label, sizeof(label));
		sysfs_str("volumes", names[i], "cipher", cipher, sizeof(cipher));
		sysfs_str("volumes", names[i], "master_key", mk, sizeof(mk));
		kb_labels_init(&lb);
		kb_labels_add(&lb, "volume", *label ? label : names[i]);
		kb_labels_add(&lb, "uuid", names[i]);
		kb_labels_add(&lb, "cipher", cipher);
		kb_labels_add(&lb, "key_source",
			      !strcmp(mk, KBVOLOP_DEFAULT_MASTER) ? "default" :
			      "customer");
		kb_labels_add(&lb, "master_key", mk);
		kb_expo_u64(e, "kbroker_volume_info", &lb, 1);
	}
	kb_expo_one(e, "kbroker_volumes_open", KB_MT_GAUGE,
		    "kbroker volumes open on this host.", n > 0 ? n : 0);
}

void kb_mc_storage(struct kb_expo *e, const struct kb_config *cfg)
{
	struct kb_labels lb;
	struct statvfs sv;
	size_t i;

	kb_expo_one(e, "kbroker_at_rest_encryption", KB_MT_GAUGE,
		    "1 when at.rest.encryption is on (log dirs must be on kbroker volumes).",
		    cfg->at_rest_encryption);
	kb_expo_one(e, "kbroker_volumes_configured", KB_MT_GAUGE,
		    "Volumes named in at.rest.volumes, which kbrokerd opens itself.",
		    (double)cfg->n_volumes);
	kb_expo_family(e, "kbroker_log_dir_used_bytes", KB_MT_GAUGE,
		       "Bytes used on the file system of each log dir.");
	for (i = 0; i < cfg->n_log_dirs; i++) {
		if (statvfs(cfg->log_dirs[i], &sv))
			continue;
		kb_labels_init(&lb);
		kb_labels_add(&lb, "dir", cfg->log_dirs[i]);
		kb_expo_u64(e, "kbroker_log_dir_used_bytes", &lb,
			    (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
	}
	kb_expo_family(e, "kbroker_log_dir_free_bytes", KB_MT_GAUGE,
		       "Bytes available to kbrokerd on the file system of each log dir.");
	for (i = 0; i < cfg->n_log_dirs; i++) {
		if (statvfs(cfg->log_dirs[i], &sv))
			continue;
		kb_labels_init(&lb);
		kb_labels_add(&lb, "dir", cfg->log_dirs[i]);
		kb_expo_u64(e, "kbroker_log_dir_free_bytes", &lb,
			    (uint64_t)sv.f_bavail * sv.f_frsize);
	}
}
