/*
 * test_aset.c - artifact sets (replay/aset.c) and the decoded-set cache
 * (replay/setcache.c): the hand-written set encoding is byte for byte what
 * msgpack-c packs, decodes back (as does the format 1 encoding), sorting keeps the last of duplicate pairs
 * whether or not the input was already sorted, the prefix radix sort is a
 * stable sort, the parity hash matches an
 * independent computation, the cache's LRU keeps what a caller holds, the
 * one-walk diff (replay/sets/aset_diff.c) reports the entries and the
 * one-sided keys a pair-by-pair reference finds, and a set loaded once
 * (set_load_once) is the set set_load gives without going into the cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "sets.h"
#include "mp.h"

static char *rep(char c, size_t n, arena *ar)
{
    char *p = ar_alloc(ar, n + 1);
    assert_non_null(p);
    memset(p, c, n);
    p[n] = '\0';
    return p;
}

static void fill_hash(unsigned char out[32], unsigned i)
{
    unsigned int mdlen = 0;
    assert_true(EVP_Digest(&i, sizeof i, out, &mdlen, EVP_sha256(), NULL));
}

static void hex_of(const unsigned char h[32], char out[65])
{
    for (int k = 0; k < 32; k++)
        snprintf(out + 2 * k, 3, "%02x", h[k]);
}

static const char *const classes[] =
    { "input", "workflow", "output", "evidence", "policy", "runtime" };

/* What aset_encode must produce (set format 2), through msgpack-c's packer;
 * with v1, the format 1 encoding older versions wrote. */
static void reference_encode(const aset *s, dsr_buf *out, int v1)
{
    msgpack_packer pk;
    mp_packer_init(&pk, out);
    assert_int_equal(msgpack_pack_array(&pk, s->n), 0);
    for (size_t i = 0; i < s->n; i++) {
        const aset_entry *e = &s->v[i];
        assert_int_equal(msgpack_pack_array(&pk, 5), 0);
        int path_key = strlen(e->key) == strlen(e->path) + 5 && !strncmp(e->key, "path:", 5)
                       && !strcmp(e->key + 5, e->path);
        if (!v1 && path_key)
            assert_int_equal(msgpack_pack_nil(&pk), 0);
        else
            assert_int_equal(mp_pack_str(&pk, e->key), 0);
        assert_int_equal(mp_pack_str(&pk, e->path), 0);
        if (v1) {
            char hex[65];
            hex_of(e->hash, hex);
            assert_int_equal(mp_pack_strn(&pk, hex, 64), 0);
        } else {
            assert_int_equal(msgpack_pack_bin(&pk, 32), 0);
            assert_int_equal(msgpack_pack_bin_body(&pk, e->hash, 32), 0);
        }
        assert_int_equal(e->required ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk), 0);
        int ci = -1;
        for (int k = 0; k < 6; k++)
            if (!strcmp(e->cls, classes[k]))
                ci = k;
        if (!v1 && ci >= 0)
            assert_int_equal(msgpack_pack_uint8(&pk, (uint8_t)ci), 0);
        else
            assert_int_equal(mp_pack_str(&pk, e->cls), 0);
    }
}

static void assert_same_sets(const aset *a, const aset *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->v[i].key, b->v[i].key);
        assert_string_equal(a->v[i].path, b->v[i].path);
        assert_string_equal(a->v[i].cls, b->v[i].cls);
        assert_memory_equal(a->v[i].hash, b->v[i].hash, 32);
        assert_int_equal(a->v[i].required, b->v[i].required);
    }
}

static void build(aset *s, arena *ar, size_t n)
{
    /* string lengths across every msgpack str header size (the first nine
     * entries), then short ones */
    static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 70000 };
    for (size_t i = 0; i < n; i++) {
        aset_entry e;
        memset(&e, 0, sizeof e);
        e.path = rep((char)('a' + i % 26), i < 9 ? lens[i] : i % 40, ar);
        char buf[32];
        if (i % 3 == 0) {   /* the scanner's key for an unnamed file */
            char *k = ar_alloc(ar, strlen(e.path) + 6);
            assert_non_null(k);
            sprintf(k, "path:%s", e.path);
            e.key = k;
        } else {
            snprintf(buf, sizeof buf, i % 3 == 1 ? "k%06zu" : "path:x%zu", i);
            e.key = ar_strdup(ar, buf);
        }
        e.cls = i % 5 == 4 ? "evidence" : i % 7 == 6 ? "custom-class" : "input";
        e.required = (int)(i % 2);
        fill_hash(e.hash, (unsigned)i);
        assert_int_equal(aset_push(s, &e), 0);
    }
}

static void encode_matches_packer_n(size_t n)
{
    aset s = { 0 };
    arena ar = { NULL };
    build(&s, &ar, n);
    dsr_buf mine = DSR_BUF_INIT, ref = DSR_BUF_INIT, old = DSR_BUF_INIT;
    assert_int_equal(dsr_buf_append(&mine, "x", 1), 0);   /* appends after what is there */
    assert_int_equal(aset_encode(&s, &mine), 0);
    assert_int_equal(dsr_buf_append(&ref, "x", 1), 0);
    reference_encode(&s, &ref, 0);
    assert_int_equal(mine.len, ref.len);
    assert_memory_equal(mine.data, ref.data, ref.len);
    assert_int_equal(mine.data[mine.len], '\0');

    /* both the current and the format 1 encoding decode to the same set */
    reference_encode(&s, &old, 1);
    dsr_err err = { 0 };
    for (int v = 0; v < 2; v++) {
        aset back = { 0 };
        arena ar2 = { NULL };
        const dsr_buf *b = v ? &old : &mine;
        size_t skip = v ? 0 : 1;
        assert_int_equal(aset_decode(b->data + skip, b->len - skip, &back, &ar2, &err), 0);
        assert_same_sets(&s, &back);
        aset_free(&back);
        ar_free(&ar2);
    }
    if (n > 1000)   /* past the nine long strings, format 2 is much smaller */
        assert_true(mine.len < old.len * 3 / 4);
    /* truncated or with trailing bytes: refused */
    aset back = { 0 };
    arena ar2 = { NULL };
    if (n)
        assert_int_equal(aset_decode(mine.data + 1, mine.len - 2, &back, &ar2, &err),
                         DSR_ECORRUPT);
    assert_int_equal(dsr_buf_append(&mine, "\xc0", 1), 0);
    assert_int_equal(aset_decode(mine.data + 1, mine.len - 1, &back, &ar2, &err), DSR_ECORRUPT);
    aset_free(&back);
    ar_free(&ar2);
    dsr_buf_free(&mine);
    dsr_buf_free(&ref);
    dsr_buf_free(&old);
    aset_free(&s);
    ar_free(&ar);
}

static void test_encode_matches_packer(void **state)
{
    (void)state;
    /* array headers: fixarray, array16 and array32 */
    const size_t sizes[] = { 0, 1, 15, 16, 9 * 7, 65536 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        encode_matches_packer_n(sizes[i]);
}

static void test_sort_unique_last_wins(void **state)
{
    (void)state;
    aset s = { 0 };
    aset_entry e;
    memset(&e, 0, sizeof e);
    const char *keys[] = { "b", "a", "c", "a" };
    for (int i = 0; i < 4; i++) {
        e.key = keys[i];
        e.path = "p";
        e.cls = "input";
        memset(e.hash, 0, sizeof e.hash);
        e.hash[31] = (unsigned char)i;
        assert_int_equal(aset_push(&s, &e), 0);
    }
    assert_int_equal(aset_sort_unique(&s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.v[0].key, "a");
    assert_int_equal(s.v[0].hash[31], 3);
    assert_string_equal(s.v[1].key, "b");
    assert_string_equal(s.v[2].key, "c");
    /* already sorted and unique: left exactly as it is */
    aset_entry before[3];
    memcpy(before, s.v, sizeof before);
    assert_int_equal(aset_sort_unique(&s), 0);
    assert_int_equal(s.n, 3);
    assert_memory_equal(before, s.v, sizeof before);
    /* sorted but with a duplicate pair at the end: still deduplicated */
    e.key = "c";
    e.hash[31] = 9;
    assert_int_equal(aset_push(&s, &e), 0);
    assert_int_equal(aset_sort_unique(&s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.v[2].hash[31], 9);
    aset_free(&s);
}

typedef struct ref_ent {
    const char *key, *path;
    size_t      i;
} ref_ent;

static int cmp_ref(const void *pa, const void *pb)
{
    const ref_ent *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    if (!c)
        c = strcmp(a->path, b->path);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

/* Random keys with a long shared prefix, lengths around the 8-byte radix
 * window, and duplicate (key, path) pairs: the order and the survivors must
 * be what a plain comparison sort gives. */
static void test_sort_matches_reference(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t)(round * 397 % 5000);
        aset s = { 0 };
        arena ar = { NULL };
        ref_ent *ref = malloc(n * sizeof *ref);
        assert_non_null(ref);
        for (size_t i = 0; i < n; i++) {
            char k[64], p[16];
            int len = 0;
            len += snprintf(k, sizeof k, round % 2 ? "path:area/" : "");
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int extra = (int)(rng >> 60);           /* 0..15 more characters */
            for (int j = 0; j < extra; j++)
                k[len++] = "ab/"[(rng >> (j * 2 + 8)) % 3];
            k[len] = '\0';
            snprintf(p, sizeof p, "p%u", (unsigned)(rng >> 40) % 3);
            aset_entry e;
            memset(&e, 0, sizeof e);
            e.key = ar_strdup(&ar, k);
            e.path = ar_strdup(&ar, p);
            e.cls = "input";
            fill_hash(e.hash, (unsigned)i);
            assert_int_equal(aset_push(&s, &e), 0);
            ref[i] = (ref_ent){ e.key, e.path, i };
        }
        qsort(ref, n, sizeof *ref, cmp_ref);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && !strcmp(ref[i].key, ref[i + 1].key)
                && !strcmp(ref[i].path, ref[i + 1].path))
                continue;   /* the last of a duplicate pair survives */
            ref[m++] = ref[i];
        }
        assert_int_equal(aset_sort_unique(&s), 0);
        assert_int_equal(s.n, m);
        for (size_t i = 0; i < m; i++) {
            assert_string_equal(s.v[i].key, ref[i].key);
            assert_string_equal(s.v[i].path, ref[i].path);
            unsigned char want[32];
            fill_hash(want, (unsigned)ref[i].i);
            assert_memory_equal(s.v[i].hash, want, 32);
        }
        free(ref);
        aset_free(&s);
        ar_free(&ar);
    }
}

/* (pre, original position): the order a stable sort by pre must give. */
static int cmp_pre_pos(const void *a, const void *b)
{
    const pre_ord *x = a, *y = b;
    if (x->pre != y->pre)
        return x->pre < y->pre ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void test_pre_sort_is_a_stable_sort_by_prefix(void **state)
{
    (void)state;
    /* byte masks: random prefixes, prefixes sharing their top bytes (keys
     * with a common start), few distinct values (many ties), all equal */
    static const uint64_t masks[] = { ~0ull, 0x0000ffffffffffffull, 0x0101010101010101ull,
                                      0xff000000000000ffull, 0 };
    static const size_t sizes[] = { 0, 1, 2, 23, 24, 25, 100, 1000, 4097 };
    uint64_t rng = 7;
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            size_t n = sizes[z];
            pre_ord *v = malloc((n + 1) * sizeof *v), *tmp = malloc((n + 1) * sizeof *tmp);
            pre_ord *want = malloc((n + 1) * sizeof *want);
            assert_true(v && tmp && want);
            for (size_t i = 0; i < n; i++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                v[i] = (pre_ord){ (rng ^ (rng >> 29)) & masks[m], i };
                want[i] = v[i];
            }
            qsort(want, n, sizeof *want, cmp_pre_pos);
            pre_sort(v, tmp, n);
            for (size_t i = 0; i < n; i++)
                if (v[i].pre != want[i].pre || v[i].i != want[i].i)
                    fail_msg("mask %zu, %zu pairs: position %zu holds (%llx, %zu), "
                             "want (%llx, %zu)", m, n, i, (unsigned long long)v[i].pre,
                             v[i].i, (unsigned long long)want[i].pre, want[i].i);
            free(v);
            free(tmp);
            free(want);
        }
}

static int cmp_hex(const void *a, const void *b)
{
    return memcmp(a, b, 64);
}

static void test_parity_independent(void **state)
{
    (void)state;
    aset s = { 0 };
    arena ar = { NULL };
    enum { N = 3000 };
    build(&s, &ar, N);
    /* shared prefixes and duplicates: the comparison must go past 8 bytes */
    memcpy(s.v[1].hash, s.v[0].hash, 10);
    memcpy(s.v[3].hash, s.v[2].hash, 32);
    char (*h)[65] = malloc(N * sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < N; i++)
        hex_of(s.v[i].hash, h[i]);
    qsort(h, N, sizeof *h, cmp_hex);
    char *cat = malloc(N * 64);
    assert_non_null(cat);
    for (size_t i = 0; i < N; i++)
        memcpy(cat + 64 * i, h[i], 64);
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_true(EVP_Digest(cat, N * 64, md, &mdlen, EVP_sha256(), NULL));
    free(cat);
    char want[65];
    for (int k = 0; k < 32; k++)
        snprintf(want + 2 * k, 3, "%02x", md[k]);
    char got[65];
    dsr_err err = { 0 };
    assert_int_equal(aset_parity(&s, got, &err), 0);
    assert_string_equal(got, want);
    free(h);
    aset_free(&s);
    ar_free(&ar);
}

/* A sorted set of n path-keyed entries, version v of each hash. */
static void versioned(aset *s, arena *ar, size_t n, const unsigned *version)
{
    for (size_t i = 0; i < n; i++) {
        char p[32];
        snprintf(p, sizeof p, "dir/f%05zu.md", i);
        aset_entry e;
        memset(&e, 0, sizeof e);
        e.key = aset_path_key_dup(ar, p, strlen(p), &e.path);
        assert_non_null(e.key);
        e.cls = i % 9 == 0 ? "custom-class" : "input";
        e.required = (int)(i % 4 == 0);
        fill_hash(e.hash, (unsigned)i * 1000u + version[i]);
        assert_int_equal(aset_push(s, &e), 0);
    }
}

static void test_delta_round_trip(void **state)
{
    (void)state;
    enum { N = 400 };
    unsigned ver[N] = { 0 };
    aset base = { 0 }, now = { 0 };
    arena ar = { NULL };
    versioned(&base, &ar, N, ver);
    /* now: some hashes changed, one required flag flipped, some removed, some added */
    for (size_t i = 0; i < N; i += 37)
        ver[i] = 1;
    versioned(&now, &ar, N, ver);
    now.v[5].required = !now.v[5].required;
    size_t n = 0;
    for (size_t i = 0; i < now.n; i++)
        if (i % 53 != 7)
            now.v[n++] = now.v[i];
    now.n = n;
    aset_entry extra;
    memset(&extra, 0, sizeof extra);
    extra.key = "zz-manifest-key";
    extra.path = "zz/new.md";
    extra.cls = "evidence";
    fill_hash(extra.hash, 999999);
    assert_int_equal(aset_push(&now, &extra), 0);
    assert_int_equal(aset_sort_unique(&now), 0);

    dsr_buf row = DSR_BUF_INIT, full = DSR_BUF_INIT;
    assert_int_equal(aset_encode_delta(&base, "0123456789abcdef0123456789abcdef", &now, &row), 1);
    assert_int_equal(aset_encode(&now, &full), 0);
    assert_true(row.len * 5 < full.len);   /* a few entries instead of all of them */
    char b[33];
    assert_int_equal(aset_row_base(row.data, row.len, b), 1);
    assert_string_equal(b, "0123456789abcdef0123456789abcdef");
    assert_int_equal(aset_row_base(full.data, full.len, b), 0);

    aset back = { 0 };
    arena ar2 = { NULL };
    dsr_err err = { 0 };
    assert_int_equal(aset_decode_delta(row.data, row.len, &base, &back, &ar2, &err), 0);
    assert_same_sets(&now, &back);
    /* a full decoder refuses a delta row rather than misreading it */
    aset wrong = { 0 };
    assert_int_equal(aset_decode(row.data, row.len, &wrong, &ar2, &err), DSR_ECORRUPT);
    /* truncated delta rows are refused */
    for (size_t cut = 3; cut < row.len; cut += 11) {
        aset t = { 0 };
        assert_int_equal(aset_decode_delta(row.data, cut, &base, &t, &ar2, &err), DSR_ECORRUPT);
        aset_free(&t);
    }
    /* when a quarter or more differs, the set is stored whole */
    for (size_t i = 0; i < N; i++)
        ver[i] = i % 3 == 0 ? 2 : 0;
    aset far = { 0 };
    versioned(&far, &ar, N, ver);
    dsr_buf_reset(&row);
    assert_int_equal(aset_encode_delta(&base, "0123456789abcdef0123456789abcdef", &far, &row), 0);
    assert_int_equal(row.len, 0);
    aset_free(&far);
    aset_free(&wrong);
    aset_free(&back);
    ar_free(&ar2);
    dsr_buf_free(&row);
    dsr_buf_free(&full);
    aset_free(&base);
    aset_free(&now);
    ar_free(&ar);
}

static void offer(setcache *c, const char *digest, size_t n, int expect_taken)
{
    aset s = { 0 };
    arena ar = { NULL };
    build(&s, &ar, n);
    const aset *out = NULL;
    int took = sc_put_take(c, digest, &s, &ar, &out);
    if (expect_taken >= 0)   /* -1: either */
        assert_int_equal(took, expect_taken);
    if (took) {
        assert_null(s.v);
        assert_null(ar.head);
        assert_non_null(out);
        assert_int_equal(out->n, n);
    } else {
        aset_free(&s);
        ar_free(&ar);
    }
}

static void test_setcache_lru(void **state)
{
    (void)state;
    setcache c = { 0 };
    char d[33];
    offer(&c, "base", 10, 1);
    const aset *base = sc_get(&c, "base");
    assert_non_null(base);
    /* many more sets than fit: "base" is used before each one goes in, so it
     * is never the least recently used and its pointer stays good */
    for (int i = 0; i < 200; i++) {
        assert_ptr_equal(sc_get(&c, "base"), base);
        snprintf(d, sizeof d, "set%d", i);
        offer(&c, d, 3, 1);
        assert_non_null(sc_get(&c, d));
        assert_string_equal(base->v[1].key, "k000001");
    }
    assert_null(sc_get(&c, "set0"));          /* evicted long ago */
    assert_non_null(sc_get(&c, "set199"));
    offer(&c, "set199", 3, 0);                /* already cached: the offer stays the caller's */
    offer(&c, "huge", 200000, 0);             /* larger than a quarter of the budget */
    assert_null(sc_get(&c, "huge"));
    /* held: sets used since sc_hold survive any number of later offers */
    const aset *a = sc_get(&c, "set198");
    assert_non_null(a);
    offer(&c, "pinned2", 4, 1);
    const aset *b = sc_get(&c, "pinned2");
    uint64_t h = sc_hold(&c);
    assert_ptr_equal(sc_get(&c, "set198"), a);
    assert_ptr_equal(sc_get(&c, "pinned2"), b);
    for (int i = 0; i < 200; i++) {   /* these are held too: once full, refused */
        snprintf(d, sizeof d, "later%d", i);
        offer(&c, d, 2, -1);
    }
    assert_null(sc_get(&c, "later199"));
    assert_ptr_equal(sc_get(&c, "set198"), a);
    assert_ptr_equal(sc_get(&c, "pinned2"), b);
    sc_release(&c, h);
    for (int i = 0; i < 200; i++) {
        snprintf(d, sizeof d, "after%d", i);
        offer(&c, d, 2, 1);
    }
    assert_null(sc_get(&c, "pinned2"));   /* released: evicted like any other */
    sc_free(&c);
}

/* ---- aset_diff_keys against a reference ------------------------------------ */

typedef struct diff_log {
    char   lines[4096][96];   /* "C key path", "R key path", "A key path", "-key req", "+key req" */
    size_t n;
} diff_log;

static void log_line(diff_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(diff_log *l, const char *fmt, ...)
{
    assert_true(l->n < sizeof l->lines / sizeof l->lines[0]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->lines[l->n++], sizeof l->lines[0], fmt, ap);
    va_end(ap);
}

static int on_entry(void *ud, aset_change kind, const aset_entry *from, const aset_entry *to)
{
    const aset_entry *e = to ? to : from;
    log_line(ud, "%c %s %s", kind == ASET_CHANGED ? 'C' : kind == ASET_REMOVED ? 'R' : 'A',
             e->key, e->path);
    return 0;
}

static int on_key(void *ud, aset_change kind, const char *key, int required)
{
    log_line(ud, "%c%s %d", kind == ASET_REMOVED ? '-' : '+', key, required);
    return 0;
}

static int ref_has_pair(const aset *s, const aset_entry *e, const aset_entry **out)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].key, e->key) && !strcmp(s->v[i].path, e->path)) {
            *out = &s->v[i];
            return 1;
        }
    return 0;
}

static int ref_has_key(const aset *s, const char *key, int *required)
{
    int any = 0;
    *required = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].key, key)) {
            any = 1;
            *required |= s->v[i].required;
        }
    return any;
}

/* The reference: every pair and key looked up by a linear scan, lines in
 * the order the walk must give them -- (key, path) order, a one-sided key
 * right after its last entry. */
static void ref_diff(const aset *from, const aset *to, diff_log *l)
{
    aset all = { 0 };
    for (size_t i = 0; i < from->n; i++)
        assert_int_equal(aset_push(&all, &from->v[i]), 0);
    for (size_t i = 0; i < to->n; i++)
        assert_int_equal(aset_push(&all, &to->v[i]), 0);
    assert_int_equal(aset_sort_unique(&all), 0);
    for (size_t i = 0; i < all.n; i++) {
        const aset_entry *e = &all.v[i], *a = NULL, *b = NULL;
        int in_from = ref_has_pair(from, e, &a), in_to = ref_has_pair(to, e, &b);
        if (in_from && in_to && memcmp(a->hash, b->hash, 32))
            log_line(l, "C %s %s", e->key, e->path);
        else if (in_from && !in_to)
            log_line(l, "R %s %s", e->key, e->path);
        else if (!in_from && in_to)
            log_line(l, "A %s %s", e->key, e->path);
        if (i + 1 < all.n && !strcmp(all.v[i + 1].key, e->key))
            continue;   /* not the key's last entry */
        int rf, rt, kf = ref_has_key(from, e->key, &rf), kt = ref_has_key(to, e->key, &rt);
        if (kf && !kt)
            log_line(l, "-%s %d", e->key, rf);
        else if (kt && !kf)
            log_line(l, "+%s %d", e->key, rt);
    }
    aset_free(&all);
}

/* A set drawn from a small universe of keys and paths: keys with several
 * paths, "path:" keys sharing their text with the path (as decoded sets
 * do) and the same keys with another path, keys on one side only, equal
 * pairs with other content. */
static void draw_set(aset *s, arena *ar, unsigned seed, unsigned density)
{
    static const char *const paths[] = { "a.md", "b/c.md", "b/d.md", "e", "f/g/h.txt" };
    srand(seed);
    for (unsigned k = 0; k < 12; k++)
        for (unsigned p = 0; p < 5; p++) {
            if ((unsigned)rand() % 100 >= density)
                continue;
            aset_entry e = { 0 };
            if (k < 5 && p == k) {
                e.key = aset_path_key_dup(ar, paths[p], strlen(paths[p]), &e.path);
            } else if (k < 5) {
                if (p != (k + 1) % 5)
                    continue;
                /* a "path:" key naming another path than its entry's */
                char key[32];
                snprintf(key, sizeof key, "path:%s", paths[k]);
                e.key = ar_strdup(ar, key);
                e.path = ar_strdup(ar, paths[p]);
            } else {
                char key[16];
                snprintf(key, sizeof key, "key%02u", k);
                e.key = ar_strdup(ar, key);
                e.path = ar_strdup(ar, paths[p]);
            }
            e.cls = "input";
            e.required = rand() % 3 == 0;
            fill_hash(e.hash, (unsigned)rand() % 2);   /* same content half the time */
            assert_int_equal(aset_push(s, &e), 0);
        }
    assert_int_equal(aset_sort_unique(s), 0);
}

static void test_diff_keys_matches_a_reference(void **state)
{
    (void)state;
    static const struct { unsigned seed_from, seed_to, density_from, density_to; } cases[] = {
        { 1, 2, 50, 50 }, { 3, 3, 60, 60 },   /* identical sets: nothing */
        { 4, 5, 100, 20 }, { 6, 7, 20, 100 }, { 8, 9, 0, 70 }, { 10, 11, 70, 0 },
        { 12, 13, 0, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (unsigned round = 0; round < 40; round++) {
            aset from = { 0 }, to = { 0 };
            arena ar = { NULL };
            draw_set(&from, &ar, cases[c].seed_from * 1000 + round, cases[c].density_from);
            draw_set(&to, &ar, cases[c].seed_to * 1000 + round, cases[c].density_to);
            diff_log *want = calloc(1, sizeof *want), *got = calloc(1, sizeof *got),
                     *plain = calloc(1, sizeof *plain);
            assert_non_null(want);
            assert_non_null(got);
            assert_non_null(plain);
            ref_diff(&from, &to, want);
            assert_int_equal(aset_diff_keys(&from, &to, on_entry, on_key, got), 0);
            assert_int_equal(aset_diff(&from, &to, on_entry, plain), 0);
            if (got->n != want->n)
                fail_msg("case %zu round %u: %zu lines, expected %zu", c, round, got->n, want->n);
            for (size_t i = 0; i < want->n; i++)
                if (strcmp(got->lines[i], want->lines[i]))
                    fail_msg("case %zu round %u line %zu: '%s', expected '%s'", c, round, i,
                             got->lines[i], want->lines[i]);
            /* aset_diff: the same entry lines without the key lines */
            size_t k = 0;
            for (size_t i = 0; i < want->n; i++)
                if (want->lines[i][0] != '-' && want->lines[i][0] != '+') {
                    assert_true(k < plain->n);
                    assert_string_equal(plain->lines[k++], want->lines[i]);
                }
            assert_int_equal(k, plain->n);
            free(want);
            free(got);
            free(plain);
            aset_free(&from);
            aset_free(&to);
            ar_free(&ar);
        }
}

/* ---- set_load_once ------------------------------------------------------------ */

typedef struct rows {
    const char *name[2];
    dsr_buf    *row[2];
    int         reads;
} rows;

static int row_of(void *ud, const char *digest, dsr_buf *row, dsr_err *err)
{
    (void)err;
    rows *r = ud;
    r->reads++;
    for (int i = 0; i < 2; i++)
        if (!strcmp(r->name[i], digest)) {
            assert_int_equal(dsr_buf_append(row, r->row[i]->data, r->row[i]->len), 0);
            return 1;
        }
    return 0;
}

/* A delta row read once gives the set set_load gives, borrows the cached
 * base's strings, leaves the cache as it was, and reuses its entries array;
 * a set the cache holds is returned from it. */
static void test_set_load_once_leaves_the_cache_alone(void **state)
{
    (void)state;
    enum { N = 300 };
    unsigned ver[N] = { 0 };
    aset base = { 0 }, now = { 0 };
    arena ar = { NULL };
    versioned(&base, &ar, N, ver);
    for (size_t i = 0; i < N; i += 29)
        ver[i] = 1;
    versioned(&now, &ar, N, ver);
    dsr_buf full = DSR_BUF_INIT, delta = DSR_BUF_INIT;
    const char *bname = "0123456789abcdef0123456789abcdef", *dname = "fedcba9876543210fedcba9876543210";
    assert_int_equal(aset_encode(&base, &full), 0);
    assert_int_equal(aset_encode_delta(&base, bname, &now, &delta), 1);
    rows r = { { bname, dname }, { &full, &delta }, 0 };
    setcache c = { 0 };
    dsr_err err = { 0 };
    aset own = { 0 };
    arena own_ar = { NULL };
    const aset *got = NULL, *again = NULL;
    for (int round = 0; round < 3; round++) {
        uint64_t h = sc_hold(&c);
        assert_int_equal(set_load_once(&c, row_of, &r, dname, &got, &own, &own_ar, &err), 0);
        assert_ptr_equal(got, &own);
        assert_same_sets(&now, got);
        const aset *cached_base = sc_get(&c, bname);
        assert_non_null(cached_base);                 /* the base went to the cache ... */
        assert_null(sc_get(&c, dname));               /* ... the set read once did not */
        assert_int_equal(c.n, 1);
        /* an entry kept from the base is the base's, strings and all */
        assert_ptr_equal(got->v[1].key, cached_base->v[1].key);
        aset_entry *first = own.v;
        sc_release(&c, h);
        ar_free(&own_ar);
        if (round)
            assert_ptr_equal(own.v, first);           /* the same array again */
    }
    assert_int_equal(r.reads, 4);   /* the base once, the delta each round */
    /* a set the cache holds comes from it */
    assert_int_equal(set_load_once(&c, row_of, &r, bname, &again, &own, &own_ar, &err), 0);
    assert_ptr_equal(again, sc_get(&c, bname));
    assert_int_equal(r.reads, 4);
    /* without a cache, nothing is borrowed: the base is decoded, used, freed */
    assert_int_equal(set_load_once(NULL, row_of, &r, dname, &got, &own, &own_ar, &err), 0);
    assert_same_sets(&now, got);
    /* a set no row holds */
    assert_int_equal(set_load_once(&c, row_of, &r, "00000000000000000000000000000000", &got,
                                   &own, &own_ar, &err), DSR_ECORRUPT);
    aset_free(&own);
    ar_free(&own_ar);
    sc_free(&c);
    dsr_buf_free(&full);
    dsr_buf_free(&delta);
    aset_free(&base);
    aset_free(&now);
    ar_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_packer),
        cmocka_unit_test(test_sort_unique_last_wins),
        cmocka_unit_test(test_sort_matches_reference),
        cmocka_unit_test(test_pre_sort_is_a_stable_sort_by_prefix),
        cmocka_unit_test(test_parity_independent),
        cmocka_unit_test(test_setcache_lru),
        cmocka_unit_test(test_delta_round_trip),
        cmocka_unit_test(test_diff_keys_matches_a_reference),
        cmocka_unit_test(test_set_load_once_leaves_the_cache_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
