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

/* Read and decode one row; base_ok: whether it may be a delta (a base never is). */
static int load(setcache *sc, set_row_fn get, void *ud, const char *digest, int base_ok,
                const aset **out, aset *own, arena *own_ar, dsr_err *err)
{
    if (sc && (*out = sc_get(sc, digest)))
        return 0;
    dsr_buf row = DSR_BUF_INIT;
    int rc = get(ud, digest, &row, err);
    if (rc <= 0) {
        dsr_buf_free(&row);
        return rc ? rc : dsr_err_set(err, DSR_ECORRUPT, "artifact set %s is missing", digest);
    }
    char base_digest[33];
    int delta = aset_row_base(row.data, row.len, base_digest);
    aset set = { 0 };
    arena ar = { NULL };
    if (delta < 0 || (delta && !base_ok)) {
        rc = dsr_err_set(err, DSR_ECORRUPT, "artifact set %s: %s", digest,
                         delta < 0 ? "delta row does not decode" : "a base set is itself a delta");
    } else if (delta) {
        const aset *base;
        aset bown = { 0 };
        arena bar = { NULL };
        rc = load(sc, get, ud, base_digest, 0, &base, &bown, &bar, err);
        if (!rc)
            rc = aset_decode_delta(row.data, row.len, base, &set, &ar, err);
        aset_free(&bown);
        ar_free(&bar);
    } else {
        rc = aset_decode(row.data, row.len, &set, &ar, err);
    }
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
    int rc = get(ud, digest, &row, err);
    if (rc <= 0) {
        dsr_buf_free(&row);
        return rc ? rc : dsr_err_set(err, DSR_ECORRUPT, "artifact set %s is missing", digest);
    }
    char base_digest[33];
    int delta = aset_row_base(row.data, row.len, base_digest);
    if (delta < 0) {
        rc = dsr_err_set(err, DSR_ECORRUPT, "artifact set %s: delta row does not decode",
                         digest);
    } else if (delta) {
        const aset *base;
        aset bown = { 0 };
        arena bar = { NULL };
        rc = load(sc, get, ud, base_digest, 0, &base, &bown, &bar, err);
        /* borrowing needs a base that outlives this call: a cached one */
        if (!rc)
            rc = base == &bown ? aset_decode_delta(row.data, row.len, base, own, own_ar, err)
                               : aset_decode_delta_on(row.data, row.len, base, own, own_ar, err);
        aset_free(&bown);
        ar_free(&bar);
    } else {
        rc = aset_decode(row.data, row.len, own, own_ar, err);
    }
    dsr_buf_free(&row);
    if (rc)
        return dsr_err_prefix(err, "artifact set %s", digest);
    *out = own;
    return 0;
}
