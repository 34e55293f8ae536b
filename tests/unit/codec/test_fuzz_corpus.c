/*
 * test_fuzz_corpus.c - the fuzz harnesses (tests/fuzz/fuzz_*.c) run over
 * every committed seed, including the inputs that once crashed them
 * (regress-*), in the ordinary test builds -- so the ASan/UBSan suite
 * re-checks each past finding without clang or libFuzzer.  Plus the
 * findings pinned down as plain assertions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_manifest_one
#include "../fuzz/fuzz_manifest.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ndjson_one
#include "../fuzz/fuzz_ndjson.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_record_one
#include "../fuzz/fuzz_record.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sk3_one
#include "../fuzz/fuzz_sk3.c"
#undef LLVMFuzzerTestOneInput

static size_t run_dir(const char *name, int (*one)(const uint8_t *, size_t))
{
    char dir[4096];
    const char *src = getenv("DOSSIER_SRC");
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : DOSSIER_SOURCE_DIR, name);
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        /* a copy of exactly len bytes, so ASan sees any over-read */
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        assert_int_equal(one(copy, len), 0);
        free(copy);
        n++;
    }
    closedir(d);
    return n;
}

static void test_every_manifest_seed_passes_the_harness(void **state)
{
    (void)state;
    assert_true(run_dir("manifest", fuzz_manifest_one) >= 4);
}

static void test_every_ndjson_seed_and_regression_passes_the_harness(void **state)
{
    (void)state;
    assert_true(run_dir("ndjson", fuzz_ndjson_one) >= 10);
}

static void test_every_record_seed_and_regression_passes_the_harness(void **state)
{
    (void)state;
    assert_true(run_dir("record", fuzz_record_one) >= 9);
}

/* Finding 1: "" (msgpack-c gives it a NULL pointer) printed with pointer
 * arithmetic on NULL (UBSan). */
static void test_every_sk3_seed_passes_the_harness(void **state)
{
    (void)state;
    assert_true(run_dir("sk3", fuzz_sk3_one) >= 40);
}

static void test_empty_string_prints_as_empty_json_string(void **state)
{
    (void)state;
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.ptr = NULL;
    o.via.str.size = 0;
    dsr_buf b = DSR_BUF_INIT;
    assert_int_equal(dsr_msgpack_to_json(&o, &b), 0);
    assert_string_equal(b.data, "\"\"");
    dsr_buf_free(&b);
}

/* Finding 2: non-string map keys nested in non-string keys were escaped once
 * per level: output doubled per level (2^32 bytes from 200 input bytes). */
static void test_nested_non_string_keys_print_in_linear_size(void **state)
{
    (void)state;
    /* 30 levels of {<key>: 1} where each key is the next map */
    unsigned char rec[128];
    size_t n = 0;
    for (int i = 0; i < 30; i++)
        rec[n++] = 0x81;         /* fixmap, one pair; its key follows */
    rec[n++] = 0xa1;
    rec[n++] = '"';             /* innermost key: the string "\"" */
    for (int i = 0; i < 30; i++)
        rec[n++] = 0x01;         /* each map's value */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, (const char *)rec, n, &off),
                     MSGPACK_UNPACK_SUCCESS);
    dsr_buf b = DSR_BUF_INIT;
    assert_int_equal(dsr_msgpack_to_json(&u.data, &b), 0);
    assert_true(b.len < 400);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    dsr_err err = { 0 };
    assert_int_equal(dsr_json_to_msgpack(b.data, b.len, &sb, &err), 0);
    msgpack_sbuffer_destroy(&sb);
    dsr_buf_free(&b);
    msgpack_unpacked_destroy(&u);
}

/* Finding 3 (found while writing the harness): a record declaring an array of
 * 2^32-1 elements in 5 bytes made msgpack-c ask for 96 GiB. */
static void test_record_declaring_more_elements_than_bytes_is_corrupt(void **state)
{
    (void)state;
    static const unsigned char huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const unsigned char map[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc0, 0xc0 };
    static const unsigned char str[] = { 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a' };
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    dsr_envelope env;
    dsr_err err = { 0 };
    assert_int_equal(dsr_record_decode(huge, sizeof huge, &u, &env, &err), DSR_ECORRUPT);
    assert_non_null(strstr(err.msg, "more bytes or elements than remain"));
    assert_int_equal(dsr_record_decode(map, sizeof map, &u, &env, &err), DSR_ECORRUPT);
    assert_int_equal(dsr_record_decode(str, sizeof str, &u, &env, &err), DSR_ECORRUPT);
    msgpack_unpacked_destroy(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_manifest_seed_passes_the_harness),
        cmocka_unit_test(test_every_ndjson_seed_and_regression_passes_the_harness),
        cmocka_unit_test(test_every_record_seed_and_regression_passes_the_harness),
        cmocka_unit_test(test_every_sk3_seed_passes_the_harness),
        cmocka_unit_test(test_empty_string_prints_as_empty_json_string),
        cmocka_unit_test(test_nested_non_string_keys_print_in_linear_size),
        cmocka_unit_test(test_record_declaring_more_elements_than_bytes_is_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
