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
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl
            && !memcmp(k->via.str.ptr, key, kl))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
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
