// SPDX-License-Identifier: GPL-2.0
/* InitProducerId for idempotent producers (no transactions). */
#include <string.h>

#include "handlers/api.h"
#include "handlers/authz.h"
#include "proto/errors.h"
#include "common/log.h"
#include "store/store.h"

int kb_h_init_producer_id(struct kb_req *req, struct kb_resp *resp)
{
	struct kb_rd *rd = &req->rd;
	struct kb_wr *w = &resp->w;
	struct kb_str txn;
	int64_t pid = -1;
	int16_t err = 0;
	int ret;

	txn = kb_rd_vnstr(rd, req->flex);
	kb_rd_i32(rd);			/* transaction_timeout_ms */
	if (req->hdr.api_version >= 3) {
		kb_rd_i64(rd);		/* producer_id */
		kb_rd_i16(rd);		/* producer_epoch */
	}
	kb_rd_vtags(rd, req->flex);
	if (rd->err)
		return KB_H_CLOSE;
	if (txn.ptr) {
		err = KB_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
	} else if (!kb_req_may_idempotent(req)) {
		err = KB_ERR_CLUSTER_AUTHORIZATION_FAILED;
	} else {
		/* Like Kafka without a transactional id: always a new id, so
		 * an epoch bump request (KIP-360) also gets a fresh one. */
		ret = kb_store_next_producer_id(req->b->store, &pid);
		if (ret < 0) {
			kb_log_once(KB_LOG_ERR, "allocating producer id: %s",
				    strerror(-ret));
			err = KB_ERR_KAFKA_STORAGE_ERROR;
			pid = -1;
		}
	}
	kb_wr_i32(w, 0);
	kb_wr_i16(w, err);
	kb_wr_i64(w, pid);
	kb_wr_i16(w, err ? -1 : 0);
	kb_wr_tags(w, req->flex);
	return KB_H_DONE;
}
