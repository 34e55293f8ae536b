/*
 * mp.h - msgpack helpers shared by the modules that read and write stored
 * records: a packer over dsr_buf, field lookups on decoded maps (mp.c) and
 * a bounds-checked cursor straight over the bytes (mp_cursor.c).
 */
#ifndef DOSSIER_CODEC_MP_H
#define DOSSIER_CODEC_MP_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "arena.h"
#include "buf.h"
#include "dossier/event.h"

/* ---- mp.c: msgpack helpers ---------------------------------------------- */
/* A packer that appends to a dsr_buf. */
void mp_packer_init(msgpack_packer *pk, dsr_buf *out);
int  mp_pack_str(msgpack_packer *pk, const char *s);           /* NULL -> nil */
int  mp_pack_strn(msgpack_packer *pk, const char *s, size_t n); /* s NULL -> nil */
int  mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
int  mp_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v);
/* String value of key k: 1 and *s when a string, 0 when nil or absent, -1 when
 * another type. */
int  mp_get_str(const msgpack_object *obj, const char *k, dsr_str *s);
/* Several string fields in one pass over map obj: out[j] is the value of
 * keys[j] (ptr NULL when absent, nil or not a string; the first of
 * duplicate keys counts, as with codec_map_get). */
typedef struct mp_key {
    const char *s;
    uint32_t    n;
} mp_key;
#define MP_KEY(lit) { lit, sizeof lit - 1 }
void mp_pick_str(const msgpack_object *obj, const mp_key *keys, size_t n, dsr_str *out);
/* Integer of key k (0 when absent or not an integer: callers validated). */
int64_t mp_get_i64(const msgpack_object *obj, const char *k);
int  mp_get_bool(const msgpack_object *obj, const char *k);
/* malloc'd NUL-terminated copy of a string object (NULL for nil); *rc gets
 * DSR_ENOMEM on allocation failure. */
char *mp_strdup(const msgpack_object *o, int *rc);
/* Copy of dsr_str into the arena (NULL for a NULL string). */
char *ar_str(arena *a, dsr_str s, int *rc);

/* ---- mp_cursor.c: msgpack read straight from bytes ------------------------- */
typedef struct mpc {
    const unsigned char *p, *end;
} mpc;

int mpc_need(mpc *c, size_t n);                  /* 1 when n bytes are left */
int mpc_len(mpc *c, int bytes, uint64_t *n);     /* big-endian length: 0 or -1 */
int mpc_map(mpc *c, uint64_t *n);                /* map header: 0 or -1 */
int mpc_array(mpc *c, uint64_t *n);              /* array header: 0 or -1 */
int mpc_str(mpc *c, dsr_str *s);                 /* 1 str, 0 nil, -1 other */
int mpc_str_bin(mpc *c, dsr_str *s);             /* 1 str, 2 bin, 0 nil, -1 other */
int mpc_uint(mpc *c, uint64_t *v);               /* 0 or -1 */
int mpc_skip(mpc *c, int depth);                 /* any object, depth-bounded */

#endif
