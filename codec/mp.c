/*
 * mp.c - msgpack helpers shared by the projections: a packer writing into a
 * dsr_buf, and lookups in decoded maps.  State rows are msgpack maps with
 * string keys (records) or arrays (artifact sets); the projections that
 * write them are the only readers, so lookups trust types they wrote and
 * report anything else as a missing field.
 */
#include "mp.h"
#include "codec.h"

#include <stdlib.h>
#include <string.h>

static int buf_write(void *data, const char *p, size_t n)
{
    return dsr_buf_append(data, p, n) ? -1 : 0;
}

void mp_packer_init(msgpack_packer *pk, dsr_buf *out)
{
    msgpack_packer_init(pk, out, buf_write);
}

int mp_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    if (!s)
        return msgpack_pack_nil(pk) ? DSR_ENOMEM : 0;
    if (msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n))
        return DSR_ENOMEM;
    return 0;
}

int mp_pack_str(msgpack_packer *pk, const char *s)
{
    return mp_pack_strn(pk, s, s ? strlen(s) : 0);
}

int mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    if (mp_pack_str(pk, k) || mp_pack_str(pk, v))
        return DSR_ENOMEM;
    return 0;
}

int mp_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
    if (mp_pack_str(pk, k) || msgpack_pack_int64(pk, v))
        return DSR_ENOMEM;
    return 0;
}

int mp_get_str(const msgpack_object *obj, const char *k, dsr_str *s)
{
    const msgpack_object *v = codec_map_get(obj, k);
    s->ptr = NULL;
    s->len = 0;
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type != MSGPACK_OBJECT_STR)
        return -1;
    s->ptr = v->via.str.ptr;
    s->len = v->via.str.size;
    return 1;
}

void mp_pick_str(const msgpack_object *obj, const mp_key *keys, size_t n, dsr_str *out)
{
    for (size_t j = 0; j < n; j++)
        out[j].ptr = NULL, out[j].len = 0;
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return;
    size_t left = n;
    for (uint32_t i = 0; i < obj->via.map.size && left; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (kv->key.via.str.size != keys[j].n || out[j].ptr
                || memcmp(kv->key.via.str.ptr, keys[j].s, keys[j].n))
                continue;
            if (kv->val.type == MSGPACK_OBJECT_STR) {
                out[j].ptr = kv->val.via.str.ptr;
                out[j].len = kv->val.via.str.size;
            }
            left--;
            break;
        }
    }
}

int64_t mp_get_i64(const msgpack_object *obj, const char *k)
{
    const msgpack_object *v = codec_map_get(obj, k);
    if (!v)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return v->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return v->via.i64;
    return 0;
}

int mp_get_bool(const msgpack_object *obj, const char *k)
{
    const msgpack_object *v = codec_map_get(obj, k);
    return v && v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
}

char *mp_strdup(const msgpack_object *o, int *rc)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *p = strndup(o->via.str.ptr, o->via.str.size);
    if (!p)
        *rc = DSR_ENOMEM;
    return p;
}

char *ar_str(arena *a, dsr_str s, int *rc)
{
    if (!s.ptr)
        return NULL;
    char *p = ar_strndup(a, s.ptr, s.len);
    if (!p)
        *rc = DSR_ENOMEM;
    return p;
}
