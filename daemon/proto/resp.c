// SPDX-License-Identifier: GPL-2.0
/* Response buffers: the frame being written and the file slices in it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/api.h"

void kb_resp_init(struct kb_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	kb_wr_init(&resp->w, 512);
	kb_wr_i32(&resp->w, 0);		/* size, patched by kb_resp_finish */
}

void kb_resp_free(struct kb_resp *resp)
{
	int i;

	for (i = 0; i < resp->n_slices; i++)
		if (resp->slices[i].fd >= 0)
			close(resp->slices[i].fd);
	free(resp->slices);
	kb_wr_free(&resp->w);
	if (resp->park)
		resp->park->free(resp->park);
	memset(resp, 0, sizeof(*resp));
}

void kb_resp_add_slice(struct kb_resp *resp, int fd, off_t pos, size_t len)
{
	struct kb_slice_at *s;

	if (resp->n_slices == resp->cap_slices) {
		int cap = resp->cap_slices ? resp->cap_slices * 2 : 8;

		s = realloc(resp->slices, cap * sizeof(*s));
		if (!s) {
			/* Keep the frame consistent: mark the response bad. */
			close(fd);
			resp->w.err = true;
			return;
		}
		resp->slices = s;
		resp->cap_slices = cap;
	}
	s = &resp->slices[resp->n_slices++];
	s->at = resp->w.len;
	s->fd = fd;
	s->pos = pos;
	s->len = len;
	resp->slice_bytes += len;
}

void kb_resp_finish(struct kb_resp *resp)
{
	kb_wr_put_i32(&resp->w, 0,
		      (int32_t)(resp->w.len - 4 + resp->slice_bytes));
}
