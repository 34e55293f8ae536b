/*
 * scan_ask.c - the request a scan sends to the watcher that holds its log,
 * built on the scan's side and read and checked on the watcher's (see
 * scan_ask.h for the format).
 */
#include "cli.h"
#include "scan_ask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(dsr_buf *b, const char *key, const char *val)
{
    if (!val)
        return;
    (void)dsr_buf_printf(b, "%s=%s", key, val);
    (void)dsr_buf_putc(b, '\0');
}

int cli_scan_ask_build(const cli_scan_opts *o, int emit_full, int rehash, int json,
                       int quiet, dsr_buf *req)
{
    char *mission = realpath(o->mission_dir, NULL);
    char *manifest = o->manifest_path ? realpath(o->manifest_path, NULL) : NULL;
    if (!mission || (o->manifest_path && !manifest)) {
        free(mission);
        free(manifest);
        return -1;
    }
    char num[32];
    dsr_buf_reset(req);
    if (o->deliver || o->endpoint || rehash) {
        put(req, "dossier-scan", CLI_ASK_VERSION_MORE);
        put(req, "emit", emit_full ? "full" : "changed");
        put(req, "deliver", o->deliver ? "1" : NULL);
        put(req, "endpoint", o->endpoint);
        put(req, rehash == CLI_ASK_VERIFY_CACHE ? "verify_cache" : "rehash",
            rehash ? "1" : NULL);
    } else {
        put(req, "dossier-scan", emit_full ? CLI_ASK_VERSION_FULL : CLI_ASK_VERSION);
    }
    put(req, "mission", mission);
    put(req, "arg", o->mission_dir);
    put(req, "json", json ? "1" : "0");
    put(req, "quiet", quiet ? "1" : "0");
    snprintf(num, sizeof num, "%d", (int)cli_cfg.level);
    put(req, "level", num);
    put(req, "color", cli_use_color(stdout) ? "1" : "0");
    put(req, "list_skipped", o->list_skipped ? "1" : "0");
    put(req, "manifest", manifest);
    put(req, "mission_type", o->mission_type);
    put(req, "step", o->step);
    put(req, "feature", o->feature);
    put(req, "branch", o->branch);
    if (o->given & DSR_SETTING_PROFILE)
        put(req, "profile", dsr_profile_name(o->profile));
    if (o->max_file_size) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)o->max_file_size);
        put(req, "max_file_size", num);
    }
    if (o->given & DSR_SETTING_EXCLUDES) {
        put(req, "excludes", "given");
        for (size_t i = 0; i < o->n_excludes; i++)
            put(req, "exclude", o->excludes[i]);
    }
    if (o->reset_settings)
        put(req, "reset", "1");
    free(mission);
    free(manifest);
    return 0;
}

int cli_scan_ask_parse(const char *req, size_t len, cli_scan_ask *a)
{
    memset(a, 0, sizeof *a);
    if (!len || req[len - 1] != '\0')
        return -1;
    int first = 1, v3 = 0, emit = 0;   /* emit: 1 changed, 2 full (version 3) */
    for (const char *p = req; p < req + len; p += strlen(p) + 1) {
        const char *eq = strchr(p, '=');
        if (!eq)
            return -1;
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1;
#define KEY(k) (kl == sizeof k - 1 && !memcmp(p, k, kl))
        if (first) {
            if (!KEY("dossier-scan"))
                return -1;
            if (!strcmp(v, CLI_ASK_VERSION_FULL))
                a->emit_full = 1;
            else if (!strcmp(v, CLI_ASK_VERSION_MORE))
                v3 = 1;
            else if (strcmp(v, CLI_ASK_VERSION))
                return -1;
            first = 0;
        } else if (v3 && KEY("emit")) {
            if (emit)
                return -1;
            emit = !strcmp(v, "changed") ? 1 : !strcmp(v, "full") ? 2 : -1;
            if (emit < 0)
                return -1;
        } else if (v3 && KEY("deliver")) a->deliver = *v == '1';
        else if (v3 && KEY("endpoint"))  a->endpoint = v;
        else if (v3 && (KEY("rehash") || KEY("verify_cache")) && *v == '1')
            a->rehash = a->rehash ? -1 : KEY("rehash") ? CLI_ASK_REHASH : CLI_ASK_VERIFY_CACHE;
        else if (KEY("mission"))         a->mission = v;
        else if (KEY("arg"))             a->arg = v;
        else if (KEY("json"))            a->json = *v == '1';
        else if (KEY("quiet"))           a->quiet = *v == '1';
        else if (KEY("level"))           a->level = atoi(v);
        else if (KEY("color"))           a->color = *v == '1';
        else if (KEY("list_skipped"))    a->list_skipped = *v == '1';
        else if (KEY("manifest"))        a->manifest = v;
        else if (KEY("mission_type"))    a->mission_type = v;
        else if (KEY("step"))            a->step = v;
        else if (KEY("feature"))         a->feature = v;
        else if (KEY("branch"))          a->branch = v;
        else if (KEY("profile"))         a->profile = v;
        else if (KEY("max_file_size"))   a->max_file_size = strtoull(v, NULL, 10);
        else if (KEY("excludes"))        a->has_excludes = 1;
        else if (KEY("exclude")) {
            if (a->n_excludes == CLI_ASK_EXCLUDES_MAX)
                return -1;
            a->excludes[a->n_excludes++] = v;
        } else if (KEY("reset"))         a->reset = 1;
        /* an unknown key from a newer scan is passed over */
#undef KEY
    }
    if (first || !a->mission || !a->arg)
        return -1;
    if (v3) {
        /* the emission named; at most one delivery (all endpoints or one)
         * and one way of reading the files; something more than 1 or 2 */
        if (!emit || (a->deliver && a->endpoint) || (a->endpoint && !*a->endpoint)
            || a->rehash < 0 || (!a->deliver && !a->endpoint && !a->rehash))
            return -1;
        a->emit_full = emit == 2;
    }
    return 0;
}

/* given (the scan's) is NULL or equal to have (the watcher's) */
static int same(const char *given, const char *have)
{
    return !given || (have && !strcmp(given, have));
}

const char *cli_scan_ask_mismatch(const cli_scan_ask *a, const cli_scan_opts *w,
                                  const char *root)
{
    if (strcmp(a->mission, root))
        return "MISSION_DIR";
    if (a->reset)
        return "--reset-settings";
    if (a->manifest) {
        char *wm = w->manifest_path ? realpath(w->manifest_path, NULL) : NULL;
        int ok = wm && !strcmp(wm, a->manifest);
        free(wm);
        if (!ok)
            return "--manifest";
    }
    if (!same(a->mission_type, w->mission_type))
        return "--mission-type";
    if (!same(a->step, w->step))
        return "--step";
    if (!same(a->feature, w->feature))
        return "--feature";
    if (!same(a->branch, w->branch))
        return "--branch";
    if (a->profile && (!(w->given & DSR_SETTING_PROFILE)
                       || strcmp(a->profile, dsr_profile_name(w->profile))))
        return "--profile";
    if (a->max_file_size && a->max_file_size != w->max_file_size)
        return "--max-file-size";
    if (a->has_excludes) {
        if (!(w->given & DSR_SETTING_EXCLUDES) || a->n_excludes != w->n_excludes)
            return "--exclude";
        for (size_t i = 0; i < a->n_excludes; i++)
            if (strcmp(a->excludes[i], w->excludes[i]))
                return "--exclude";
    }
    return NULL;
}
