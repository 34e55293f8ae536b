/*
 * set_load.c - loading an artifact set by its row name, whichever way it is
 * stored: a full row, or a delta against a full base row (aset.c).  Decoded
 * sets, bases included, go through the set cache, so a base shared by many
 * deltas is decoded once.
 *
 * Ownership: the caller's thread (the replay driver, or a reader command).
 */
#include "sets.h"

#include <string.h>

/* The row of digest into *row, and whether it is a delta (1, its base's
 * digest in base_digest) or a full set (0); else a negative code, *row
 * freed.  base_ok: whether it may be a delta (a base never is). */
static int fetch_row(set_row_fn get, void *ud, const char *digest, int base_ok, dsr_buf *row,
                     char base_digest[33], dsr_err *err)
{
    int rc = get(ud, digest, row, err);
    if (rc <= 0) {
        dsr_buf_free(row);
        return rc ? rc : dsr_err_set(err, DSR_ECORRUPT, "artifact set %s is missing", digest);
    }
    int delta = aset_row_base(row->data, row->len, base_digest);
    if (delta < 0 || (delta && !base_ok)) {
        dsr_buf_free(row);
        return dsr_err_set(err, DSR_ECORRUPT, "artifact set %s: %s", digest,
                           delta < 0 ? "delta row does not decode" : "a base set is itself a delta");
    }
    return delta;
}

static int load(setcache *sc, set_row_fn get, void *ud, const char *digest, int base_ok,
                const aset **out, aset *own, arena *own_ar, dsr_err *err);

/* Decode a row fetch_row gave: a full set, or a delta on its base (loaded
 * through the cache).  borrow: the result may point into the base when that
 * is a cached one, which outlives it (aset_decode_delta_on). */
static int decode_row(setcache *sc, set_row_fn get, void *ud, const dsr_buf *row, int delta,
                      const char *base_digest, int borrow, aset *s, arena *ar, dsr_err *err)
{
    if (!delta)
        return aset_decode(row->data, row->len, s, ar, err);
    const aset *base;
    aset bown = { 0 };
    arena bar = { NULL };
    int rc = load(sc, get, ud, base_digest, 0, &base, &bown, &bar, err);
    if (!rc)
        rc = borrow && base != &bown ? aset_decode_delta_on(row->data, row->len, base, s, ar, err)
                                     : aset_decode_delta(row->data, row->len, base, s, ar, err);
    aset_free(&bown);
    ar_free(&bar);
    return rc;
}

/* Read and decode one row; base_ok: whether it may be a delta (a base never is). */
static int load(setcache *sc, set_row_fn get, void *ud, const char *digest, int base_ok,
                const aset **out, aset *own, arena *own_ar, dsr_err *err)
{
    if (sc && (*out = sc_get(sc, digest)))
        return 0;
    dsr_buf row = DSR_BUF_INIT;
    char base_digest[33];
    int delta = fetch_row(get, ud, digest, base_ok, &row, base_digest, err);
    if (delta < 0)
        return delta;
    aset set = { 0 };
    arena ar = { NULL };
    int rc = decode_row(sc, get, ud, &row, delta, base_digest, 0, &set, &ar, err);
    dsr_buf_free(&row);
    if (rc) {
        aset_free(&set);
        ar_free(&ar);
        return dsr_err_prefix(err, "artifact set %s", digest);
    }
    if (sc && sc_put_take(sc, digest, &set, &ar, out))
        return 0;
    *own = set;
    ar_adopt(own_ar, &ar);
    *out = own;
    return 0;
}

int set_load(setcache *sc, set_row_fn get, void *ud, const char *digest, const aset **out,
             aset *own, arena *own_ar, dsr_err *err)
{
    return load(sc, get, ud, digest, 1, out, own, own_ar, err);
}

int set_load_once(setcache *sc, set_row_fn get, void *ud, const char *digest,
                  const aset **out, aset *own, arena *own_ar, dsr_err *err)
{
    own->n = 0;
    if (sc && (*out = sc_get(sc, digest)))
        return 0;
    dsr_buf row = DSR_BUF_INIT;
    char base_digest[33];
    int delta = fetch_row(get, ud, digest, 1, &row, base_digest, err);
    if (delta < 0)
        return delta;
    int rc = decode_row(sc, get, ud, &row, delta, base_digest, 1, own, own_ar, err);
    dsr_buf_free(&row);
    if (rc)
        return dsr_err_prefix(err, "artifact set %s", digest);
    *out = own;
    return 0;
}
