/*
 * cmd_endpoint.c - `dossier endpoint add|list|remove|enable`: the webhook
 * endpoints saved in LOGDIR/delivery/ (library: replay/deliver_endpoints.c).
 * Only the path of a secret file is saved, never the secret; list output
 * hides any user:password in URLs.
 */
#include "cli.h"
#include "dossier/buf.h"
#include "dossier/deliver.h"
#include "dossier/profile.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s as a JSON string on stdout (cli_json_str escapes; NULL -> null). */
static void put_json_str(const char *s)
{
    dsr_buf b = DSR_BUF_INIT;
    cli_json_str(&b, s);
    if (b.data)
        fwrite(b.data, 1, b.len, stdout);
    dsr_buf_free(&b);
}

static const char usage_text[] =
"Usage: dossier endpoint add NAME --url URL [--secret-file F] [--auto]\n"
"                            [--feature SLUG]... [--type T]... [--profile P]\n"
"       dossier endpoint list [--json]\n"
"       dossier endpoint remove NAME\n"
"       dossier endpoint enable NAME\n"
"\n"
"Manage the webhook endpoints saved with the log (in LOGDIR/delivery/).  Each\n"
"endpoint keeps its own cursor, retries and dead letters; deliver to one with\n"
"'dossier deliver --endpoint NAME'.\n"
"\n"
"  add NAME     save an endpoint.  NAME: letters, digits, '.', '_', '-' (at\n"
"               most 64; 'url-...' is reserved for 'dossier deliver --url').\n"
"               A new endpoint receives every event already in the log, then\n"
"               new ones.\n"
"  list         show saved endpoints (and those 'deliver --url' made)\n"
"  remove NAME  forget an endpoint and all its delivery state\n"
"  enable NAME  clear the disabled flag a 410 Gone answer set\n"
"\n"
"Options (add):\n"
"  --url URL           endpoint URL, http:// or https:// (required)\n"
"  --url-file FILE     read the URL from the first line of FILE instead, so a\n"
"                      token in it is not on the command line (ps)\n"
"  --secret-file F     file holding the signing secret (whsec_BASE64 or raw\n"
"                      text).  It is checked now and read at each delivery;\n"
"                      only its absolute path is saved\n"
"  --auto              also deliver after every 'dossier scan' (one bounded\n"
"                      attempt window; a failing endpoint never fails a scan)\n"
"  --feature SLUG      only events of this feature (repeatable)\n"
"  --type T            only events of this type (repeatable)\n"
"  --profile P         how events are rendered: wp04 (the default, the\n"
"                      canonical envelope) or spec-kitty-3 (spec-kitty-events\n"
"                      3.0.0 envelopes, docs/interop.md section 6; the\n"
"                      internal types are not sent).  The body is what is\n"
"                      signed\n"
"Options (all):\n"
"  --log DIR           event log folder (default: $DOSSIER_LOG, else ./.dossier)\n"
"  --json              list: one JSON array on stdout\n"
"  -h, --help          show this help\n"
"\n"
"Exit status:\n"
"  0  done\n"
"  2  usage error: bad name or URL, unknown type, unreadable secret file,\n"
"     name already saved\n"
"  3  no such endpoint, or the delivery state cannot be used (locked by a\n"
"     running 'dossier deliver')\n"
"\n"
"Examples:\n"
"  dossier endpoint add ci --url https://ci.example.com/hook --secret-file ci.key --auto\n"
"  dossier endpoint add drift --url https://ops.example.com/drift \\\n"
"      --type mission_dossier_parity_drift_detected\n"
"  dossier endpoint add saas --url https://saas.example.com/events --profile spec-kitty-3\n"
"  dossier endpoint list\n"
"  dossier endpoint remove ci\n";

enum { OPT_URL_FILE = 200, OPT_URL = 256, OPT_SECRET, OPT_AUTO, OPT_FEATURE, OPT_TYPE, OPT_LOG, OPT_JSON,
       OPT_PROFILE };

#define MAX_FILTERS 64

static void print_list_json(const dsr_endpoint_info *v, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        const dsr_endpoint_info *e = &v[i];
        printf("%s{\"name\":", i ? "," : "");
        put_json_str(e->name);
        printf(",\"url\":");
        put_json_str(e->url);
        printf(",\"signed\":%s,\"secret_file\":", e->secret_file ? "true" : "false");
        put_json_str(e->secret_file);
        printf(",\"auto\":%s,\"adhoc\":%s,\"disabled\":%s,\"disabled_reason\":",
               e->auto_deliver ? "true" : "false", e->adhoc ? "true" : "false",
               e->disabled ? "true" : "false");
        put_json_str(e->disabled_reason);
        printf(",\"features\":[");
        for (size_t k = 0; k < e->n_features; k++) {
            if (k)
                putchar(',');
            put_json_str(e->features[k]);
        }
        printf("],\"types\":[");
        for (size_t k = 0; k < e->n_types; k++) {
            if (k)
                putchar(',');
            put_json_str(e->types[k]);
        }
        printf("],\"profile\":");
        put_json_str(dsr_profile_name(e->profile));
        putchar('}');
    }
    printf("]\n");
}

static void print_list(const dsr_endpoint_info *v, size_t n)
{
    if (n == 0) {
        printf("no endpoints (add one with 'dossier endpoint add NAME --url URL')\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const dsr_endpoint_info *e = &v[i];
        printf("%s  %s%s%s%s\n", e->name, e->url, e->auto_deliver ? "  [auto]" : "",
               e->adhoc ? "  [from deliver --url]" : "", e->disabled ? "  [DISABLED]" : "");
        if (e->secret_file)
            printf("    secret file: %s\n", e->secret_file);
        else
            printf("    unsigned (no secret file; $DOSSIER_WEBHOOK_SECRET is used if set)\n");
        if (e->n_features) {
            printf("    features:");
            for (size_t k = 0; k < e->n_features; k++)
                printf(" %s", e->features[k]);
            putchar('\n');
        }
        if (e->n_types) {
            printf("    types:");
            for (size_t k = 0; k < e->n_types; k++)
                printf(" %s", e->types[k]);
            putchar('\n');
        }
        if (e->profile != DSR_PROFILE_WP04)
            printf("    profile: %s\n", dsr_profile_name(e->profile));
        if (e->disabled && e->disabled_reason)
            printf("    disabled: %s\n", e->disabled_reason);
    }
}

int cmd_endpoint(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "url", required_argument, NULL, OPT_URL },
        { "url-file", required_argument, NULL, OPT_URL_FILE },
        { "secret-file", required_argument, NULL, OPT_SECRET },
        { "auto", no_argument, NULL, OPT_AUTO },
        { "feature", required_argument, NULL, OPT_FEATURE },
        { "type", required_argument, NULL, OPT_TYPE },
        { "log", required_argument, NULL, OPT_LOG },
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "json", no_argument, NULL, OPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *url = NULL, *secret = NULL, *log_opt = NULL, *url_file = NULL;
    const char *features[MAX_FILTERS], *types[MAX_FILTERS];
    size_t nf = 0, nt = 0;
    int is_auto = 0, json = 0, has_profile = 0, ch;
    dsr_profile profile = DSR_PROFILE_WP04;
    opterr = 0;
    optind = 1;
    /* Options may come before or after the subcommand and its NAME. */
    while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
        switch (ch) {
        case OPT_URL:    url = optarg; break;
        case OPT_URL_FILE: url_file = optarg; break;
        case OPT_SECRET: secret = optarg; break;
        case OPT_AUTO:   is_auto = 1; break;
        case OPT_LOG:    log_opt = optarg; break;
        case OPT_JSON:   json = 1; break;
        case OPT_PROFILE:
            if (dsr_profile_parse(optarg, &profile))
                return cli_usage("endpoint", "unknown profile '%s' (one of %s)", optarg,
                                 DSR_PROFILE_NAMES);
            has_profile = 1;
            break;
        case OPT_FEATURE:
            if (nf == MAX_FILTERS)
                return cli_usage("endpoint", "at most %d --feature options", MAX_FILTERS);
            features[nf++] = optarg;
            break;
        case OPT_TYPE:
            if (nt == MAX_FILTERS)
                return cli_usage("endpoint", "at most %d --type options", MAX_FILTERS);
            types[nt++] = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return DSR_EXIT_OK;
        default:
            return cli_usage("endpoint", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage("endpoint", "missing subcommand: add, list, remove or enable");
    const char *sub = argv[optind++];
    const char *name = optind < argc ? argv[optind++] : NULL;
    if (optind < argc)
        return cli_usage("endpoint", "unexpected argument '%s'", argv[optind]);
    int is_add = !strcmp(sub, "add");
    if (!is_add && (url || url_file || secret || is_auto || nf || nt || has_profile))
        return cli_usage("endpoint", "--url, --url-file, --secret-file, --auto, --feature, --type and "
                         "--profile belong to 'endpoint add'");
    if (json && strcmp(sub, "list"))
        return cli_usage("endpoint", "--json belongs to 'endpoint list'");

    char logbuf[4096];
    const char *logdir = cli_log_dir(log_opt, NULL, logbuf, sizeof logbuf);
    dsr_err err = {0};
    int rc;
    if (is_add) {
        if (!name)
            return cli_usage("endpoint", "add: missing NAME");
        if (url && url_file)
            return cli_usage("endpoint", "add: --url and --url-file are mutually exclusive");
        char *owned = NULL;
        if (url_file && (rc = cli_secret_read_line("endpoint", "URL file", url_file, &owned)))
            return rc;
        if (owned)
            url = owned;
        if (!url)
            return cli_usage("endpoint", "add: --url URL is required");
        if (secret)
            cli_secret_perms("endpoint", "secret file", secret);
        dsr_endpoint_config cfg = { DSR_ENDPOINT_CONFIG_VERSION, name, url, secret, is_auto,
                                    features, nf, types, nt, profile };
        rc = dsr_endpoint_add(logdir, &cfg, &err);
        free(owned);
        if (rc < 0)
            return cli_fail(&err, "endpoint add");
        printf("endpoint %s saved%s\n", name, is_auto ? " (delivers after every scan)" : "");
        return DSR_EXIT_OK;
    }
    if (!strcmp(sub, "list")) {
        if (name)
            return cli_usage("endpoint", "list takes no NAME");
        dsr_endpoint_info *v = NULL;
        size_t n = 0;
        if ((rc = dsr_endpoint_list(logdir, &v, &n, &err)) < 0)
            return cli_fail(&err, "endpoint list");
        if (json)
            print_list_json(v, n);
        else
            print_list(v, n);
        dsr_endpoint_list_free(v, n);
        return DSR_EXIT_OK;
    }
    if (!strcmp(sub, "remove") || !strcmp(sub, "enable")) {
        if (!name)
            return cli_usage("endpoint", "%s: missing NAME", sub);
        int remove = sub[0] == 'r';
        rc = remove ? dsr_endpoint_remove(logdir, name, &err)
                    : dsr_endpoint_enable(logdir, name, &err);
        if (rc < 0)
            return cli_fail(&err, remove ? "endpoint remove" : "endpoint enable");
        printf("endpoint %s %s\n", name, remove ? "removed" : "enabled");
        return DSR_EXIT_OK;
    }
    return cli_usage("endpoint", "unknown subcommand '%s' (add, list, remove, enable)", sub);
}
