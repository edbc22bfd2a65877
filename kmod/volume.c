// SPDX-License-Identifier: GPL-2.0
/*
 * Volume keys: each kbroker volume's 64-byte data key is made here, wrapped
 * with a master key from the kernel keyring (AES-256-GCM, the volume UUID
 * as associated data) and handed out only wrapped, or as a "logon" key that
 * dm-crypt can use and no process can read.  Open volumes appear under
 * /sys/kernel/kbroker/volumes/<uuid>/ and pin the module.
 *
 * Commands and the wrapped blob are documented in
 * include/uapi/linux/kbroker.h and Documentation/kbroker/volumes.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/aead.h>
#include <keys/user-type.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/key.h>
#include <linux/key-type.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <net/genetlink.h>

#include "kbroker.h"

#define KBROKER_GCM_NONCE_LEN	12
#define KBROKER_GCM_TAG_LEN	16

struct kbroker_volume {
	struct kobject kobj;
	struct list_head node;
	u8 uuid[KBROKER_VOLUME_UUID_LEN];
	char label[KBROKER_VOLUME_LABEL_MAX];
	char cipher[KBROKER_VOLUME_CIPHER_MAX];
	char master[KBROKER_MASTER_KEY_DESC_MAX];
	char key_desc[KBROKER_VOLUME_KEY_DESC_MAX];
	struct key *key;
};

/* One AEAD operation's memory; kmalloc'd because it goes in a scatterlist. */
struct kbroker_wrap_buf {
	u8 iv[KBROKER_GCM_NONCE_LEN];
	u8 ad[KBROKER_VOLUME_UUID_LEN];
	u8 data[KBROKER_VOLUME_KEY_LEN];
	u8 tag[KBROKER_GCM_TAG_LEN];
};

static DEFINE_MUTEX(kbroker_vol_lock);	/* kbroker_volumes and their keys */
static LIST_HEAD(kbroker_volumes);
static struct kobject *kbroker_vol_kobj;
static struct key *kbroker_keyring;

const struct nla_policy kbroker_vol_create_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_UUID_LEN),
	[KBROKER_A_VOLUME_MASTER_KEY] = { .type = NLA_NUL_STRING,
					  .len = KBROKER_MASTER_KEY_DESC_MAX - 1 },
};

const struct nla_policy kbroker_vol_open_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_UUID_LEN),
	[KBROKER_A_VOLUME_LABEL] = { .type = NLA_NUL_STRING,
				     .len = KBROKER_VOLUME_LABEL_MAX - 1 },
	[KBROKER_A_VOLUME_CIPHER] = { .type = NLA_NUL_STRING,
				      .len = KBROKER_VOLUME_CIPHER_MAX - 1 },
	[KBROKER_A_VOLUME_MASTER_KEY] = { .type = NLA_NUL_STRING,
					  .len = KBROKER_MASTER_KEY_DESC_MAX - 1 },
	[KBROKER_A_VOLUME_WRAPPED_KEY] =
		NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_WRAPPED_LEN),
};

const struct nla_policy kbroker_vol_close_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_UUID_LEN),
};

const struct nla_policy kbroker_vol_rewrap_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_UUID_LEN),
	[KBROKER_A_VOLUME_MASTER_KEY] = { .type = NLA_NUL_STRING,
					  .len = KBROKER_MASTER_KEY_DESC_MAX - 1 },
	[KBROKER_A_VOLUME_NEW_MASTER_KEY] = {
		.type = NLA_NUL_STRING,
		.len = KBROKER_MASTER_KEY_DESC_MAX - 1 },
	[KBROKER_A_VOLUME_WRAPPED_KEY] =
		NLA_POLICY_EXACT_LEN(KBROKER_VOLUME_WRAPPED_LEN),
};

/* LIST takes no attributes: reject the ones it answers with. */
const struct nla_policy kbroker_vol_list_policy[KBROKER_A_MAX + 1] = {
	[KBROKER_A_VOLUME_UUID] = { .type = NLA_REJECT },
	[KBROKER_A_VOLUME_STATE] = { .type = NLA_REJECT },
};

static int kbroker_vol_need(struct genl_info *info, int attr)
{
	if (info->attrs[attr])
		return 0;
	NL_SET_ERR_ATTR_MISS(info->extack, NULL, attr);
	NL_SET_ERR_MSG(info->extack, "missing attribute");
	return -EINVAL;
}

/*
 * Copies the 32-byte master key named @desc from the caller's keyrings
 * into @out.  Only a lookup: no upcall, so a missing key fails at once.
 */
static int kbroker_master_get(const char *desc, u8 *out,
			      struct netlink_ext_ack *extack)
{
	struct key_type *const types[] = { &key_type_logon, &key_type_user };
	const struct user_key_payload *payload;
	struct key *key = ERR_PTR(-ENOKEY);
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		key = request_key(types[i], desc, NULL);
		if (!IS_ERR(key))
			break;
	}
	if (IS_ERR(key)) {
		ret = PTR_ERR(key);
		/* logon refuses descriptions without "prefix:". */
		if (ret == -EINVAL)
			ret = -ENOKEY;
		NL_SET_ERR_MSG(extack, "master key not found in the caller's keyrings");
		return ret;
	}

	down_read(&key->sem);
	payload = user_key_payload_locked(key);
	if (!payload) {
		ret = -EKEYREVOKED;
		NL_SET_ERR_MSG(extack, "master key revoked");
	} else if (payload->datalen != KBROKER_MASTER_KEY_LEN) {
		ret = -EINVAL;
		NL_SET_ERR_MSG(extack, "master key is not 32 bytes");
	} else {
		memcpy(out, payload->data, KBROKER_MASTER_KEY_LEN);
		ret = 0;
	}
	up_read(&key->sem);
	key_put(key);
	return ret;
}

/* Encrypts or decrypts @b in place with AES-256-GCM under @kek. */
static int kbroker_gcm(const u8 *kek, struct kbroker_wrap_buf *b, bool enc)
{
	struct aead_request *req;
	struct crypto_aead *tfm;
	struct scatterlist sg;
	DECLARE_CRYPTO_WAIT(wait);
	int ret;

	tfm = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(tfm))
		return PTR_ERR(tfm);
	ret = crypto_aead_setkey(tfm, kek, KBROKER_MASTER_KEY_LEN);
	if (ret)
		goto out_tfm;
	ret = crypto_aead_setauthsize(tfm, KBROKER_GCM_TAG_LEN);
	if (ret)
		goto out_tfm;
	req = aead_request_alloc(tfm, GFP_KERNEL);
	if (!req) {
		ret = -ENOMEM;
		goto out_tfm;
	}
	/* ad, data and tag are contiguous: one scatterlist entry. */
	sg_init_one(&sg, b->ad, sizeof(b->ad) + sizeof(b->data) +
		    sizeof(b->tag));
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(req, sizeof(b->ad));
	aead_request_set_crypt(req, &sg, &sg, sizeof(b->data) +
			       (enc ? 0 : sizeof(b->tag)), b->iv);
	ret = crypto_wait_req(enc ? crypto_aead_encrypt(req) :
			      crypto_aead_decrypt(req), &wait);
	/* A bad tag means the wrong master key (or a forged blob). */
	if (ret == -EBADMSG)
		ret = -EKEYREJECTED;
	aead_request_free(req);
out_tfm:
	crypto_free_aead(tfm);
	return ret;
}

static int kbroker_wrap(const u8 *kek, const u8 *uuid, const u8 *key,
			u8 *blob)
{
	struct kbroker_wrap_buf *b = kzalloc(sizeof(*b), GFP_KERNEL);
	int ret;

	if (!b)
		return -ENOMEM;
	get_random_bytes(b->iv, sizeof(b->iv));
	memcpy(b->ad, uuid, sizeof(b->ad));
	memcpy(b->data, key, sizeof(b->data));
	ret = kbroker_gcm(kek, b, true);
	if (!ret) {
		blob[0] = KBROKER_VOLUME_WRAP_GCM_AES256;
		memcpy(blob + 1, b->iv, sizeof(b->iv));
		memcpy(blob + 1 + sizeof(b->iv), b->data, sizeof(b->data));
		memcpy(blob + 1 + sizeof(b->iv) + sizeof(b->data), b->tag,
		       sizeof(b->tag));
	}
	kfree_sensitive(b);
	return ret;
}

static int kbroker_unwrap(const u8 *kek, const u8 *uuid, const u8 *blob,
			  u8 *key)
{
	struct kbroker_wrap_buf *b;
	int ret;

	if (blob[0] != KBROKER_VOLUME_WRAP_GCM_AES256)
		return -EINVAL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	memcpy(b->iv, blob + 1, sizeof(b->iv));
	memcpy(b->ad, uuid, sizeof(b->ad));
	memcpy(b->data, blob + 1 + sizeof(b->iv), sizeof(b->data));
	memcpy(b->tag, blob + 1 + sizeof(b->iv) + sizeof(b->data),
	       sizeof(b->tag));
	ret = kbroker_gcm(kek, b, false);
	if (!ret)
		memcpy(key, b->data, sizeof(b->data));
	kfree_sensitive(b);
	return ret;
}

/* Unwraps @blob with the master key named @master into @key. */
static int kbroker_unwrap_named(const char *master, const u8 *uuid,
				const u8 *blob, u8 *key,
				struct netlink_ext_ack *extack)
{
	u8 kek[KBROKER_MASTER_KEY_LEN];
	int ret;

	ret = kbroker_master_get(master, kek, extack);
	if (!ret) {
		ret = kbroker_unwrap(kek, uuid, blob, key);
		if (ret == -EKEYREJECTED)
			NL_SET_ERR_MSG(extack, "wrong master key for this volume");
	}
	memzero_explicit(kek, sizeof(kek));
	return ret;
}

static int kbroker_wrap_named(const char *master, const u8 *uuid,
			      const u8 *key, u8 *blob,
			      struct netlink_ext_ack *extack)
{
	u8 kek[KBROKER_MASTER_KEY_LEN];
	int ret;

	ret = kbroker_master_get(master, kek, extack);
	if (!ret)
		ret = kbroker_wrap(kek, uuid, key, blob);
	memzero_explicit(kek, sizeof(kek));
	return ret;
}

/* Replies to @info with one binary or string attribute. */
static int kbroker_vol_reply(struct genl_info *info, u8 cmd, int attr,
			     const void *data, int len)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(nla_total_size(len), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kbroker_genl_family, 0, cmd);
	if (!hdr || nla_put(msg, attr, len, data)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

int kbroker_volume_create(struct sk_buff *skb, struct genl_info *info)
{
	u8 blob[KBROKER_VOLUME_WRAPPED_LEN];
	u8 *key;
	int ret;

	ret = kbroker_vol_need(info, KBROKER_A_VOLUME_UUID) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_MASTER_KEY);
	if (ret)
		return ret;
	key = kmalloc(KBROKER_VOLUME_KEY_LEN, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	get_random_bytes(key, KBROKER_VOLUME_KEY_LEN);
	ret = kbroker_wrap_named(nla_data(info->attrs[KBROKER_A_VOLUME_MASTER_KEY]),
				 nla_data(info->attrs[KBROKER_A_VOLUME_UUID]),
				 key, blob, info->extack);
	kfree_sensitive(key);
	if (ret)
		return ret;
	return kbroker_vol_reply(info, KBROKER_CMD_VOLUME_CREATE,
				 KBROKER_A_VOLUME_WRAPPED_KEY, blob,
				 sizeof(blob));
}

int kbroker_volume_rewrap(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	u8 blob[KBROKER_VOLUME_WRAPPED_LEN];
	const u8 *uuid;
	u8 *key;
	int ret;

	ret = kbroker_vol_need(info, KBROKER_A_VOLUME_UUID) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_MASTER_KEY) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_NEW_MASTER_KEY) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_WRAPPED_KEY);
	if (ret)
		return ret;
	uuid = nla_data(a[KBROKER_A_VOLUME_UUID]);
	key = kmalloc(KBROKER_VOLUME_KEY_LEN, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	ret = kbroker_unwrap_named(nla_data(a[KBROKER_A_VOLUME_MASTER_KEY]),
				   uuid, nla_data(a[KBROKER_A_VOLUME_WRAPPED_KEY]),
				   key, info->extack);
	if (!ret)
		ret = kbroker_wrap_named(nla_data(a[KBROKER_A_VOLUME_NEW_MASTER_KEY]),
					 uuid, key, blob, info->extack);
	kfree_sensitive(key);
	if (ret)
		return ret;
	return kbroker_vol_reply(info, KBROKER_CMD_VOLUME_REWRAP,
				 KBROKER_A_VOLUME_WRAPPED_KEY, blob,
				 sizeof(blob));
}

static struct kbroker_volume *kbroker_vol_find(const u8 *uuid)
{
	struct kbroker_volume *vol;

	lockdep_assert_held(&kbroker_vol_lock);
	list_for_each_entry(vol, &kbroker_volumes, node)
		if (!memcmp(vol->uuid, uuid, sizeof(vol->uuid)))
			return vol;
	return NULL;
}

/* Labels name dm maps and mount points: keep them to a safe alphabet. */
static bool kbroker_label_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum(*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/*
 * Where dm-crypt will look: its request_key() searches the keyrings of
 * the process loading the table, so the key goes into the caller's
 * process keyring, else its session keyring.
 */
static int kbroker_link_caller(struct key *key)
{
	const struct cred *cred = current_cred();
	struct key *ring = cred->process_keyring ?: cred->session_keyring;

	return ring ? key_link(ring, key) : 0;
}

static ssize_t label_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	struct kbroker_volume *vol = container_of(kobj, struct kbroker_volume,
						  kobj);

	return sysfs_emit(buf, "%s\n", vol->label);
}

static ssize_t cipher_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	struct kbroker_volume *vol = container_of(kobj, struct kbroker_volume,
						  kobj);

	return sysfs_emit(buf, "%s\n", vol->cipher);
}

static ssize_t master_key_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	struct kbroker_volume *vol = container_of(kobj, struct kbroker_volume,
						  kobj);

	return sysfs_emit(buf, "%s\n", vol->master);
}

static ssize_t key_desc_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	struct kbroker_volume *vol = container_of(kobj, struct kbroker_volume,
						  kobj);

	return sysfs_emit(buf, "%s\n", vol->key_desc);
}

/* Only open volumes have a directory. */
static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "open\n");
}

static struct kobj_attribute kbroker_vol_label_attr = __ATTR_RO(label);
static struct kobj_attribute kbroker_vol_cipher_attr = __ATTR_RO(cipher);
static struct kobj_attribute kbroker_vol_master_attr = __ATTR_RO(master_key);
static struct kobj_attribute kbroker_vol_key_desc_attr = __ATTR_RO(key_desc);
static struct kobj_attribute kbroker_vol_state_attr = __ATTR_RO(state);

static struct attribute *kbroker_volume_attrs[] = {
	&kbroker_vol_label_attr.attr,
	&kbroker_vol_cipher_attr.attr,
	&kbroker_vol_master_attr.attr,
	&kbroker_vol_key_desc_attr.attr,
	&kbroker_vol_state_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kbroker_volume);

static void kbroker_volume_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct kbroker_volume, kobj));
}

static struct kobj_type kbroker_volume_ktype = {
	.release = kbroker_volume_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = kbroker_volume_groups,
};

/* Makes the volume's logon key from the unwrapped @key. */
static int kbroker_vol_key_make(struct kbroker_volume *vol, const u8 *key)
{
	key_ref_t kref;

	kref = key_create_or_update(make_key_ref(kbroker_keyring, true),
				    "logon", vol->key_desc, key,
				    KBROKER_VOLUME_KEY_LEN,
				    KEY_POS_VIEW | KEY_POS_SEARCH |
				    KEY_USR_VIEW,
				    KEY_ALLOC_NOT_IN_QUOTA);
	if (IS_ERR(kref))
		return PTR_ERR(kref);
	vol->key = key_ref_to_ptr(kref);
	return 0;
}

static void kbroker_vol_key_drop(struct kbroker_volume *vol)
{
	/* Invalidated keys leave every keyring at the next gc pass. */
	key_invalidate(vol->key);
	key_unlink(kbroker_keyring, vol->key);
	key_put(vol->key);
	vol->key = NULL;
}

int kbroker_volume_open(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct kbroker_volume *vol;
	const char *label, *cipher, *master;
	const u8 *uuid;
	bool fresh = false;
	u8 *key;
	int ret;

	ret = kbroker_vol_need(info, KBROKER_A_VOLUME_UUID) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_LABEL) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_CIPHER) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_MASTER_KEY) ?:
	      kbroker_vol_need(info, KBROKER_A_VOLUME_WRAPPED_KEY);
	if (ret)
		return ret;
	uuid = nla_data(a[KBROKER_A_VOLUME_UUID]);
	label = nla_data(a[KBROKER_A_VOLUME_LABEL]);
	cipher = nla_data(a[KBROKER_A_VOLUME_CIPHER]);
	master = nla_data(a[KBROKER_A_VOLUME_MASTER_KEY]);
	if (!kbroker_label_ok(label)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KBROKER_A_VOLUME_LABEL],
				    "label: letters, digits, '_', '.', '-' only");
		return -EINVAL;
	}
	if (strcmp(cipher, KBROKER_VOLUME_CIPHER_NAME)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[KBROKER_A_VOLUME_CIPHER],
				    "only aes-xts-plain64 is supported");
		return -EINVAL;
	}

	key = kmalloc(KBROKER_VOLUME_KEY_LEN, GFP_KERNEL);
	if (!key)
		return -ENOMEM;
	/* Unwrap first: a wrong master key changes nothing. */
	ret = kbroker_unwrap_named(master, uuid,
				   nla_data(a[KBROKER_A_VOLUME_WRAPPED_KEY]),
				   key, info->extack);
	if (ret)
		goto out_key;

	mutex_lock(&kbroker_vol_lock);
	vol = kbroker_vol_find(uuid);
	if (!vol) {
		vol = kzalloc(sizeof(*vol), GFP_KERNEL);
		if (!vol) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		fresh = true;
		memcpy(vol->uuid, uuid, sizeof(vol->uuid));
		strscpy(vol->label, label, sizeof(vol->label));
		strscpy(vol->cipher, cipher, sizeof(vol->cipher));
		strscpy(vol->master, master, sizeof(vol->master));
		snprintf(vol->key_desc, sizeof(vol->key_desc), "%s%pUb",
			 KBROKER_VOLUME_KEY_PREFIX, uuid);
		kobject_init(&vol->kobj, &kbroker_volume_ktype);
		ret = kbroker_vol_key_make(vol, key);
		if (ret)
			goto err_vol;
		ret = kobject_add(&vol->kobj, kbroker_vol_kobj, "%pUb", uuid);
		if (ret)
			goto err_key;
	}
	ret = kbroker_link_caller(vol->key);
	if (ret)
		goto err_key;
	if (fresh) {
		list_add_tail(&vol->node, &kbroker_volumes);
		/* Unloading would strand the keys: pin until closed. */
		__module_get(THIS_MODULE);
	}
	ret = kbroker_vol_reply(info, KBROKER_CMD_VOLUME_OPEN,
				KBROKER_A_VOLUME_KEY_DESC, vol->key_desc,
				strlen(vol->key_desc) + 1);
	goto out_unlock;

err_key:
	if (!fresh)
		goto out_unlock;
	kbroker_vol_key_drop(vol);
err_vol:
	kobject_put(&vol->kobj);
out_unlock:
	mutex_unlock(&kbroker_vol_lock);
out_key:
	kfree_sensitive(key);
	return ret;
}

/* Forgets one open volume: its key, its sysfs directory. */
static void kbroker_vol_close_locked(struct kbroker_volume *vol)
{
	lockdep_assert_held(&kbroker_vol_lock);
	list_del(&vol->node);
	kbroker_vol_key_drop(vol);
	kobject_put(&vol->kobj);
}

int kbroker_volume_close(struct sk_buff *skb, struct genl_info *info)
{
	struct kbroker_volume *vol;
	int ret;

	ret = kbroker_vol_need(info, KBROKER_A_VOLUME_UUID);
	if (ret)
		return ret;
	mutex_lock(&kbroker_vol_lock);
	vol = kbroker_vol_find(nla_data(info->attrs[KBROKER_A_VOLUME_UUID]));
	if (vol)
		kbroker_vol_close_locked(vol);
	mutex_unlock(&kbroker_vol_lock);
	if (!vol) {
		NL_SET_ERR_MSG(info->extack, "volume is not open");
		return -ENOENT;
	}
	module_put(THIS_MODULE);
	return 0;
}

static int kbroker_vol_fill(struct sk_buff *skb, struct netlink_callback *cb,
			    struct kbroker_volume *vol)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &kbroker_genl_family, NLM_F_MULTI,
			  KBROKER_CMD_VOLUME_LIST);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put(skb, KBROKER_A_VOLUME_UUID, sizeof(vol->uuid), vol->uuid) ||
	    nla_put_string(skb, KBROKER_A_VOLUME_LABEL, vol->label) ||
	    nla_put_string(skb, KBROKER_A_VOLUME_CIPHER, vol->cipher) ||
	    nla_put_string(skb, KBROKER_A_VOLUME_MASTER_KEY, vol->master) ||
	    nla_put_string(skb, KBROKER_A_VOLUME_KEY_DESC, vol->key_desc) ||
	    nla_put_u32(skb, KBROKER_A_VOLUME_STATE, KBROKER_VOLUME_OPEN)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

int kbroker_volume_list(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kbroker_volume *vol;
	long idx = 0;

	mutex_lock(&kbroker_vol_lock);
	list_for_each_entry(vol, &kbroker_volumes, node) {
		if (idx >= cb->args[0] && kbroker_vol_fill(skb, cb, vol))
			break;
		idx++;
	}
	mutex_unlock(&kbroker_vol_lock);
	cb->args[0] = idx;
	return skb->len;
}

int kbroker_volume_init(struct kobject *parent)
{
	kbroker_keyring = keyring_alloc(".kbroker", GLOBAL_ROOT_UID,
					GLOBAL_ROOT_GID, current_cred(),
					KEY_POS_ALL | KEY_USR_VIEW |
					KEY_USR_READ | KEY_USR_SEARCH,
					KEY_ALLOC_NOT_IN_QUOTA, NULL, NULL);
	if (IS_ERR(kbroker_keyring))
		return PTR_ERR(kbroker_keyring);
	kbroker_vol_kobj = kobject_create_and_add("volumes", parent);
	if (!kbroker_vol_kobj) {
		key_put(kbroker_keyring);
		return -ENOMEM;
	}
	return 0;
}

/* Called after netlink is gone; open volumes pin the module, so none. */
void kbroker_volume_exit(void)
{
	struct kbroker_volume *vol, *tmp;

	mutex_lock(&kbroker_vol_lock);
	list_for_each_entry_safe(vol, tmp, &kbroker_volumes, node)
		kbroker_vol_close_locked(vol);
	mutex_unlock(&kbroker_vol_lock);
	kobject_put(kbroker_vol_kobj);
	key_invalidate(kbroker_keyring);
	key_put(kbroker_keyring);
}
