/*
 * test_wp_frontmatter.c - the spec-kitty-3 projection of WP frontmatter
 * (scanner/wp_frontmatter.c, docs/interop.md section 3).  Table driven: each
 * row is a whole WP file, the decision (projected, raw bytes, invalid) and
 * the exact projection text or a piece of the reason.  The projection texts
 * are what Python's json.dumps(sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False, default=str) writes for spec-kitty's WPMetadata of the
 * same frontmatter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wp_frontmatter.h"

/* The projection of a file with only work_package_id, with a place for the
 * fields a row sets. */
#define PROJ(ae, ci, dep, em, of, ph, pr, rr, sc, st, tt, ti, tr, id)                          \
    "{\"authoritative_surface\":" ae ",\"create_intent\":" ci ",\"dependencies\":" dep         \
    ",\"execution_mode\":" em ",\"owned_files\":" of ",\"phase\":" ph ",\"priority\":" pr     \
    ",\"requirement_refs\":" rr ",\"scope\":" sc ",\"subtasks\":" st ",\"task_type\":" tt      \
    ",\"title\":" ti ",\"tracker_refs\":" tr ",\"work_package_id\":" id "}"
#define BARE(id) PROJ("null", "[]", "[]", "null", "[]", "null", "null", "[]", "null", "[]", \
                      "null", "null", "[]", id)
#define TITLED(ti) PROJ("null", "[]", "[]", "null", "[]", "null", "null", "[]", "null", "[]", \
                        "null", ti, "[]", "\"WP01\"")
#define SUBTASKS(st) PROJ("null", "[]", "[]", "null", "[]", "null", "null", "[]", "null", st, \
                          "null", "null", "[]", "\"WP01\"")

typedef struct row {
    const char *name;
    const char *text;
    int         want;        /* WP_FM_* */
    const char *json;        /* WP_FM_PROJECTED: the exact text */
    const char *why;         /* WP_FM_INVALID: a piece of the reason */
} row;

static const row ROWS[] = {
    /* ---- valid: the static fields, defaults for the rest ---- */
    { "only the id", "---\nwork_package_id: WP01\n---\nbody\n", WP_FM_PROJECTED,
      BARE("\"WP01\""), NULL },
    { "runtime fields and the body are not hashed",
      "---\nwork_package_id: WP01\nlane: for_review\nagent: claude\nshell_pid: 77\n"
      "assignee: bob\nhistory:\n- {at: x, lane: planned}\nreview_status: ''\n---\nanother body\n",
      WP_FM_PROJECTED, BARE("\"WP01\""), NULL },
    { "descriptive fields are not hashed",
      "---\nwork_package_id: WP01\nbase_branch: main\ncreated_at: '2026-01-10'\ntags: [a]\n---\n",
      WP_FM_PROJECTED, BARE("\"WP01\""), NULL },
    { "every static field",
      "---\nwork_package_id: WP07\ntitle: T\ndependencies: [WP01]\nrequirement_refs: [FR-1]\n"
      "tracker_refs: ['#3']\npriority: P1\nexecution_mode: code_change\nowned_files: [src/**]\n"
      "create_intent: [src/n.c]\nauthoritative_surface: src/\nscope: codebase-wide\n"
      "task_type: implement\nsubtasks: [T1]\nphase: Phase 1\n---\n",
      WP_FM_PROJECTED,
      PROJ("\"src/\"", "[\"src/n.c\"]", "[\"WP01\"]", "\"code_change\"", "[\"src/**\"]",
           "\"Phase 1\"", "\"P1\"", "[\"FR-1\"]", "\"codebase-wide\"", "[\"T1\"]",
           "\"implement\"", "\"T\"", "[\"#3\"]", "\"WP07\""), NULL },
    { "key order and comments do not matter",
      "---\n# c\nphase: Phase 1\nwork_package_id: WP07  # trailing\n---\n", WP_FM_PROJECTED,
      PROJ("null", "[]", "[]", "null", "[]", "\"Phase 1\"", "null", "[]", "null", "[]", "null",
           "null", "[]", "\"WP07\""), NULL },
    { "lists given as comma-separated strings",
      "---\nwork_package_id: WP01\ndependencies: 'WP02, WP03,,'\nrequirement_refs: FR-1 , FR-2\n"
      "tracker_refs: '#1'\n---\n", WP_FM_PROJECTED,
      PROJ("null", "[]", "[\"WP02\",\"WP03\"]", "null", "[]", "null", "null",
           "[\"FR-1\",\"FR-2\"]", "null", "[]", "null", "null", "[\"#1\"]", "\"WP01\""), NULL },
    { "dependencies '[]' is the empty list",
      "---\nwork_package_id: WP01\ndependencies: '[]'\n---\n", WP_FM_PROJECTED, BARE("\"WP01\""),
      NULL },
    { "phase is str() of any scalar",
      "---\nwork_package_id: WP01\nphase: 2\n---\n", WP_FM_PROJECTED,
      PROJ("null", "[]", "[]", "null", "[]", "\"2\"", "null", "[]", "null", "[]", "null", "null",
           "[]", "\"WP01\""), NULL },
    { "work_package_title stands in for an absent title",
      "---\nwork_package_id: WP01\nwork_package_title: Legacy\n---\n", WP_FM_PROJECTED,
      TITLED("\"Legacy\""), NULL },
    { "lane alias doing, empty lane, shell_pid as text",
      "---\nwork_package_id: WP01\nlane: doing\nshell_pid: ' 42 '\n---\n", WP_FM_PROJECTED,
      BARE("\"WP01\""), NULL },
    { "base_commit unknown", "---\nwork_package_id: WP01\nbase_commit: unknown\n---\n",
      WP_FM_PROJECTED, BARE("\"WP01\""), NULL },
    { "an empty lane is no lane", "---\nwork_package_id: WP01\nlane: ''\n---\n",
      WP_FM_PROJECTED, BARE("\"WP01\""), NULL },
    /* ---- non-ASCII and escaping: raw UTF-8, Python's escapes ---- */
    { "non-ASCII raw, quotes and tabs escaped",
      "---\nwork_package_id: WP01\ntitle: \"Caf\xc3\xa9 \xe2\x80\x94 \\\"q\\\"\\t\\x01\\x7f\"\n---\n",
      WP_FM_PROJECTED, TITLED("\"Caf\xc3\xa9 \xe2\x80\x94 \\\"q\\\"\\t\\u0001\x7f\""), NULL },
    { "nested keys in code point order",
      "---\nwork_package_id: WP01\nsubtasks:\n- {alpha: 1, Zeta: 2, \xc3\x84pfel: 3, b: [y, x]}\n---\n",
      WP_FM_PROJECTED,
      SUBTASKS("[{\"Zeta\":2,\"alpha\":1,\"b\":[\"y\",\"x\"],\"\xc3\x84pfel\":3}]"), NULL },
    /* ---- YAML 1.2 values inside subtasks ---- */
    { "dates and timestamps as Python's str()",
      "---\nwork_package_id: WP01\nsubtasks: [2026-03-01, 2026-03-01T10:00:00Z, "
      "2026-3-1 9:05:07.5, '2026-03-01', 2026-03-01T01:00:00+02:00, 2026-03-01 10:00:00.000]"
      "\n---\n", WP_FM_PROJECTED,
      SUBTASKS("[\"2026-03-01\",\"2026-03-01 10:00:00\",\"2026-03-01 09:05:07.500000\","
               "\"2026-03-01\",\"2026-02-28 23:00:00\",\"2026-03-01 10:00:00\"]"), NULL },
    { "leading zeros are decimal in YAML 1.2",
      "---\nwork_package_id: WP01\nsubtasks: [010, 0777, 0b101, 1e5, 0.1e2]\n---\n",
      WP_FM_PROJECTED, SUBTASKS("[10,777,5,100000.0,10.0]"), NULL },
    { "floats as Python's repr",
      "---\nwork_package_id: WP01\nsubtasks: [1.5, 1e16, 1.0e-7, .5, 10.0, -.inf, 1_000.25]\n---\n",
      WP_FM_PROJECTED, SUBTASKS("[1.5,1e+16,1e-07,0.5,10.0,-Infinity,1000.25]"), NULL },
    { "YAML 1.2 scalars: yes/no/on are strings; ints in bases",
      "---\nwork_package_id: WP01\nsubtasks: [yes, no, on, true, False, ~, null, 0x1F, 0o17, +007, 1_000]\n---\n",
      WP_FM_PROJECTED,
      SUBTASKS("[\"yes\",\"no\",\"on\",true,false,null,null,31,15,7,1000]"), NULL },
    { "aliases share their anchor's value",
      "---\nwork_package_id: WP01\nsubtasks: [&a {k: v}, *a]\n---\n", WP_FM_PROJECTED,
      SUBTASKS("[{\"k\":\"v\"},{\"k\":\"v\"}]"), NULL },
    { "BOM and CRLF", "\xef\xbb\xbf---\r\nwork_package_id: WP01\r\ntitle: t\r\n---\r\nbody\r\n",
      WP_FM_PROJECTED, TITLED("\"t\""), NULL },
    /* ---- schema failures: not present ---- */
    { "unknown key", "---\nwork_package_id: WP01\nowner: me\n---\n", WP_FM_INVALID, NULL,
      "unknown key 'owner'" },
    { "unquoted date in a string field", "---\nwork_package_id: WP01\ncreated_at: 2026-01-15\n---\n",
      WP_FM_INVALID, NULL, "created_at: expected a string, got a date" },
    { "number in a string field", "---\nwork_package_id: WP01\npriority: 1\n---\n",
      WP_FM_INVALID, NULL, "priority: expected a string, got an integer" },
    { "missing id", "---\ntitle: x\n---\n", WP_FM_INVALID, NULL, "work_package_id is missing" },
    /* found by fuzz_wp_frontmatter: an alias inside its own anchor is a
     * cycle; writing it recursed until the stack overflowed */
    { "recursive alias", "---\nwork_package_id: WP01\nsubtasks: [&a [owned *a, *a], 6]\n---\n",
      WP_FM_INVALID, NULL, "nested deeper than" },
    { "empty frontmatter is {}", "---\n---\nbody\n", WP_FM_INVALID, NULL,
      "work_package_id is missing" },
    { "bad id", "---\nwork_package_id: WP1\n---\n", WP_FM_INVALID, NULL, "does not match WP##" },
    { "lane not in the enum", "---\nwork_package_id: WP01\nlane: genesis\n---\n", WP_FM_INVALID,
      NULL, "lane: 'genesis'" },
    { "blank title", "---\nwork_package_id: WP01\ntitle: '  '\n---\n", WP_FM_INVALID, NULL,
      "title must not be empty" },
    { "null list", "---\nwork_package_id: WP01\ndependencies:\n---\n", WP_FM_INVALID, NULL,
      "dependencies: expected a list of strings, got null" },
    { "list of non-strings", "---\nwork_package_id: WP01\nowned_files: [1]\n---\n",
      WP_FM_INVALID, NULL, "owned_files[0]: expected a string" },
    { "bad commit", "---\nwork_package_id: WP01\nbase_commit: xyz1234\n---\n", WP_FM_INVALID,
      NULL, "base_commit" },
    { "bad shell_pid", "---\nwork_package_id: WP01\nshell_pid: abc\n---\n", WP_FM_INVALID, NULL,
      "shell_pid" },
    /* ---- no frontmatter: raw bytes, present ---- */
    { "no frontmatter", "# WP01\n\nbody\n", WP_FM_RAW, NULL, NULL },
    { "not closed", "---\nwork_package_id: WP01\n", WP_FM_RAW, NULL, NULL },
    { "YAML error", "---\nwork_package_id: WP01\ntitle: [unclosed\n---\n", WP_FM_RAW, NULL, NULL },
    { "duplicate key", "---\nwork_package_id: WP01\nwork_package_id: WP02\n---\n", WP_FM_RAW,
      NULL, NULL },
    { "duplicate nested key", "---\nwork_package_id: WP01\nsubtasks: [{a: 1, a: 2}]\n---\n",
      WP_FM_RAW, NULL, NULL },
    { "a list, not a mapping", "---\n- a\n- b\n---\n", WP_FM_RAW, NULL, NULL },
    { "an impossible date", "---\nwork_package_id: WP01\nsubtasks: [2026-02-30]\n---\n",
      WP_FM_RAW, NULL, NULL },
    { "two documents", "---\nwork_package_id: WP01\n...\ntitle: x\n--- \n", WP_FM_RAW, NULL, NULL },
};

static void test_projection_table(void **state)
{
    (void)state;
    int failures = 0;
    dsr_buf json = DSR_BUF_INIT;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const row *r = &ROWS[i];
        char why[256];
        int got = wp_fm_project(r->text, strlen(r->text), &json, why, sizeof why);
        int ok = got == r->want;
        if (ok && r->json)
            ok = json.len == strlen(r->json) && !memcmp(json.data, r->json, json.len);
        if (ok && r->why)
            ok = strstr(why, r->why) != NULL;
        if (ok && got != WP_FM_PROJECTED)
            ok = json.len == 0;
        if (!ok) {
            print_error("%s: got %d, want %d\n  json %.*s\n  want %s\n  why  %s\n", r->name, got,
                        r->want, (int)json.len, json.data ? json.data : "", r->json ? r->json : "-",
                        why);
            failures++;
        }
    }
    dsr_buf_free(&json);
    assert_int_equal(failures, 0);
}

static void test_wp_file_names(void **state)
{
    (void)state;
    static const struct { const char *path; int want; } t[] = {
        { "tasks/WP01-x.md", 1 }, { "WP20-top-level.md", 1 }, { "notes/WP21-x.md", 1 },
        { "tasks/wp08.md", 1 }, { "tasks/WP17.MD", 1 }, { "a/b/c/WP123.md", 1 },
        { "tasks/WP9-x.md", 0 }, { "WP22-notes.txt", 0 }, { "tasks/README.md", 0 },
        { "tasks/XWP01.md", 0 }, { "WP01", 0 }, { "tasks/WP01.md.bak", 0 },
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (wp_is_wp_file(t[i].path) != t[i].want) {
            print_error("%s: want %d\n", t[i].path, t[i].want);
            failures++;
        }
    assert_int_equal(failures, 0);
}

/* An alias bomb: nine levels of ten references expand to 10^9 leaves.  Its
 * projection is refused once WP_FM_MAX_JSON is passed, at once, instead of
 * being written out. */
static void test_alias_bomb_is_bounded(void **state)
{
    (void)state;
    dsr_buf t = DSR_BUF_INIT;
    assert_int_equal(dsr_buf_puts(&t, "---\nwork_package_id: WP01\nl0: &a0 [x]\n"), 0);
    for (int i = 1; i < 10; i++)
        assert_int_equal(dsr_buf_printf(&t, "l%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,"
                                        "*a%d,*a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1, i - 1,
                                        i - 1, i - 1, i - 1, i - 1, i - 1), 0);
    /* unknown keys make it invalid before any writing: put it under subtasks */
    dsr_buf u = DSR_BUF_INIT;
    assert_int_equal(dsr_buf_puts(&u, "---\nwork_package_id: WP01\nsubtasks:\n- &a0 [x]\n"), 0);
    for (int i = 1; i < 10; i++)
        assert_int_equal(dsr_buf_printf(&u, "- &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,"
                                        "*a%d,*a%d]\n", i, i - 1, i - 1, i - 1, i - 1, i - 1,
                                        i - 1, i - 1, i - 1, i - 1, i - 1), 0);
    assert_int_equal(dsr_buf_puts(&u, "---\n"), 0);
    dsr_buf json = DSR_BUF_INIT;
    char why[256];
    assert_int_equal(wp_fm_project(u.data, u.len, &json, why, sizeof why), WP_FM_INVALID);
    assert_non_null(strstr(why, "projection larger than"));
    assert_int_equal(json.len, 0);
    dsr_buf_free(&json);
    dsr_buf_free(&t);
    dsr_buf_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_table),
        cmocka_unit_test(test_wp_file_names),
        cmocka_unit_test(test_alias_bomb_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
