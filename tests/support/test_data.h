/*
 * test_data.h - reading the shared test tables (the JSON files in tests/data) from unit
 * tests: files of the source tree, JSON parsed into msgpack objects, map
 * lookups.  cmocka asserts on failure, so callers need no error handling.
 */
#ifndef DOSSIER_TEST_DATA_H
#define DOSSIER_TEST_DATA_H

#include <stddef.h>
#include <msgpack.h>

/* The whole of file rel (relative to the source tree: $DOSSIER_SRC, else the
 * configured source dir); malloc'd, *len bytes. */
char *td_slurp(const char *rel, size_t *len);
/* JSON text -> msgpack object in *u (caller destroys u and sb). */
void  td_parse_json(const char *text, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *u);
/* The value of key in map, or NULL (also when map is not a map). */
const msgpack_object *td_get(const msgpack_object *map, const char *key);
/* A valid envelope around payload_json as JSON text into out (fixed ids,
 * aggregate feature/<slug>, a correlation id, no causation). */
struct dsr_buf;
void  td_wrap_envelope(const char *type, const char *slug, const char *payload_json,
                       struct dsr_buf *out);
/* Call fn with a valid envelope (td_wrap_envelope) around every valid
 * payload of tests/data/payload_cases.json and its event type's name;
 * returns how many. */
size_t td_each_valid_payload(void (*fn)(void *ud, const msgpack_object *envelope,
                                        const char *type),
                             void *ud);

#endif
