/*
 * test_data.c - see test_data.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dossier/buf.h"
#include "dossier/event.h"
#include "test_data.h"
#include "codec.h"

char *td_slurp(const char *rel, size_t *len)
{
    const char *src = getenv("DOSSIER_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", src ? src : DOSSIER_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    dsr_buf b = DSR_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(dsr_buf_append(&b, chunk, n), 0);
    fclose(f);
    *len = b.len;
    return b.data;
}

void td_parse_json(const char *text, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *u)
{
    dsr_err err = { 0 };
    msgpack_sbuffer_init(sb);
    if (dsr_json_to_msgpack(text, len, sb, &err))
        fail_msg("JSON does not parse: %s", err.msg);
    msgpack_unpacked_init(u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(u, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
}

const msgpack_object *td_get(const msgpack_object *map, const char *key)
{
    return codec_map_get(map, key);   /* the library's own lookup (codec.h) */
}

void td_wrap_envelope(const char *type, const char *slug, const char *payload_json,
                      dsr_buf *out)
{
    dsr_buf_reset(out);
    assert_int_equal(dsr_buf_printf(out,
        "{\"event_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFGH\",\"event_type\":\"%s\","
        "\"aggregate_id\":\"feature/%s\",\"timestamp\":\"2026-01-31T12:00:00.123Z\","
        "\"node_id\":\"01JCZZZZZZZZZZZZZZZZZZZZZZ\",\"lamport_clock\":7,"
        "\"project_uuid\":\"550e8400-e29b-41d4-a716-446655440000\","
        "\"correlation_id\":\"01JD3Q8Z5M6W7X8Y9A0BCDEFG0\",\"causation_id\":null,"
        "\"schema_version\":\"1.0.0\",\"payload\":%s}", type, slug, payload_json), 0);
}

size_t td_each_valid_payload(void (*fn)(void *ud, const msgpack_object *envelope,
                                        const char *type),
                             void *ud)
{
    size_t len, n = 0;
    char *text = td_slurp("tests/data/payload_cases.json", &len);
    msgpack_sbuffer sb;
    msgpack_unpacked u;
    td_parse_json(text, len, &sb, &u);
    const msgpack_object *pls = td_get(&u.data, "payload_cases");
    assert_non_null(pls);
    dsr_buf pj = DSR_BUF_INIT, ej = DSR_BUF_INIT;
    for (uint32_t i = 0; i < pls->via.array.size; i++) {
        const msgpack_object *c = &pls->via.array.ptr[i];
        const msgpack_object *payload = td_get(c, "payload"), *type = td_get(c, "event_type");
        const msgpack_object *slug = td_get(payload, "feature_slug");
        if (!td_get(c, "valid")->via.boolean)
            continue;
        dsr_buf_reset(&pj);
        assert_int_equal(dsr_msgpack_to_json(payload, &pj), 0);
        assert_int_equal(dsr_buf_putc(&pj, '\0'), 0);
        char tname[64], sname[256];
        snprintf(tname, sizeof tname, "%.*s", (int)type->via.str.size, type->via.str.ptr);
        snprintf(sname, sizeof sname, "%.*s", (int)slug->via.str.size, slug->via.str.ptr);
        td_wrap_envelope(tname, sname, pj.data, &ej);
        msgpack_sbuffer esb;
        msgpack_unpacked eu;
        td_parse_json(ej.data, ej.len, &esb, &eu);
        fn(ud, &eu.data, tname);
        msgpack_unpacked_destroy(&eu);
        msgpack_sbuffer_destroy(&esb);
        n++;
    }
    dsr_buf_free(&pj);
    dsr_buf_free(&ej);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    free(text);
    return n;
}
