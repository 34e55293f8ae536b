/*
 * nats_stream.c - the JetStream stream dossier publishes into: look it up,
 * create it when missing, keep its replicas and duplicate window as asked.
 *
 * Why file storage: the stream is the meeting point of many logs; it must
 * survive a server restart (the recovery test kills the server with SIGKILL).
 * Why the duplicate window matters: publishers set Nats-Msg-Id = event_id,
 * and the server drops a message whose id it stored within the window, so
 * re-sends after a publisher crash do not duplicate events in the stream.
 * Invariant: an existing stream is changed only when the caller asked for a
 * different replicas / duplicate window explicitly; its subjects are never
 * changed, only checked.
 */
#include "mirror.h"
#include "opts_version.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_MS 1000000LL

static void fill_info(dsr_nats_stream_info *info, const jsStreamInfo *si)
{
    if (!info)
        return;
    info->created_ns = si->Created;
    info->replicas = si->Config ? si->Config->Replicas : 0;
    info->dup_window_ms = si->Config ? si->Config->Duplicates / NS_PER_MS : 0;
    info->msgs = si->State.Msgs;
    info->first_seq = si->State.FirstSeq;
    info->last_seq = si->State.LastSeq;
}

int dsr_nats_stream_info_get(dsr_nats *n, dsr_nats_stream_info *info, dsr_err *err)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        nats_lib.jsStreamInfo_Destroy(si);
        return dsr_err_set(err, DSR_ENOTFOUND, "stream %s does not exist on %s",
                           n->stream, n->url);
    }
    if (s != NATS_OK)
        return nats_err_set(err, DSR_ENET, s, jerr, n, "stream %s on %s", n->stream, n->url);
    if (info)
        memset(info, 0, sizeof *info);
    fill_info(info, si);
    nats_lib.jsStreamInfo_Destroy(si);
    return 0;
}

/* 1 when the stream's subjects capture every subject under prefix. */
static int captures_prefix(const jsStreamConfig *c, const char *want)
{
    for (int i = 0; i < c->SubjectsLen; i++)
        if (c->Subjects[i] && (!strcmp(c->Subjects[i], want) || !strcmp(c->Subjects[i], ">")))
            return 1;
    return 0;
}

static int create_stream(dsr_nats *n, const dsr_nats_stream_cfg *cfg, const char *subject,
                         dsr_nats_stream_info *info, dsr_err *err)
{
    jsStreamConfig sc;
    nats_lib.jsStreamConfig_Init(&sc);
    const char *subjects[1] = { subject };
    sc.Name = n->stream;
    sc.Description = "dossier events (subject <prefix>.<feature>.<event_type>, "
                     "Nats-Msg-Id = event_id)";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Discard = js_DiscardOld;
    sc.Replicas = cfg && cfg->replicas > 0 ? cfg->replicas : 1;
    sc.Duplicates = (cfg && cfg->dup_window_ms > 0 ? cfg->dup_window_ms
                                                   : DSR_NATS_DEFAULT_DUP_WINDOW_MS) * NS_PER_MS;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_AddStream(&si, n->js, &sc, NULL, &jerr);
    if (s != NATS_OK) {
        nats_lib.jsStreamInfo_Destroy(si);
        if (jerr == JSStreamSubjectOverlapErr)
            return dsr_err_set(err, DSR_EINVAL,
                "cannot create stream %s on %s: subjects '%s' overlap another stream; "
                "publish into that stream with --stream, or choose another --subject-prefix",
                n->stream, n->url, subject);
        if (jerr == JSStreamReplicasNotSupportedErr || jerr == JSInsufficientResourcesErr ||
            jerr == JSClusterNotAvailErr)
            return nats_err_set(err, DSR_EINVAL, s, jerr, n,
                "cannot create stream %s with %lld replicas on %s (replicas > 1 need a "
                "JetStream cluster with that many servers)",
                n->stream, (long long)sc.Replicas, n->url);
        return nats_err_set(err, DSR_ENET, s, jerr, n, "cannot create stream %s on %s",
                            n->stream, n->url);
    }
    fill_info(info, si);
    if (info)
        info->created = 1;
    nats_lib.jsStreamInfo_Destroy(si);
    return 0;
}

int dsr_nats_ensure_stream(dsr_nats *n, const dsr_nats_stream_cfg *cfg,
                           dsr_nats_stream_info *info, dsr_err *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (cfg && opts_version_check(cfg->version, DSR_NATS_STREAM_CFG_VERSION,
                                  "dsr_nats_stream_cfg", "DSR_NATS_STREAM_CFG_INIT", err))
        return DSR_EINVAL;
    char subject[256];
    snprintf(subject, sizeof subject, "%s.>", n->prefix);

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nats_lib.js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        nats_lib.jsStreamInfo_Destroy(si);
        return create_stream(n, cfg, subject, info, err);
    }
    if (s != NATS_OK)
        return nats_err_set(err, DSR_ENET, s, jerr, n, "stream %s on %s", n->stream, n->url);

    int rc = 0;
    jsStreamConfig *c = si->Config;
    if (!c || !captures_prefix(c, subject)) {
        rc = dsr_err_set(err, DSR_EINVAL,
            "stream %s on %s exists but does not capture '%s' (its first subject: '%s'); "
            "use another --stream, or a --subject-prefix it captures",
            n->stream, n->url, subject,
            c && c->SubjectsLen > 0 && c->Subjects[0] ? c->Subjects[0] : "");
        goto out;
    }
    int change = 0;
    if (cfg && cfg->replicas > 0 && cfg->replicas != c->Replicas) {
        c->Replicas = cfg->replicas;
        change = 1;
    }
    if (cfg && cfg->dup_window_ms > 0 && cfg->dup_window_ms * NS_PER_MS != c->Duplicates) {
        c->Duplicates = cfg->dup_window_ms * NS_PER_MS;
        change = 1;
    }
    if (change) {
        jsStreamInfo *nsi = NULL;
        s = nats_lib.js_UpdateStream(&nsi, n->js, c, NULL, &jerr);
        if (s != NATS_OK) {
            nats_lib.jsStreamInfo_Destroy(nsi);
            rc = nats_err_set(err, jerr ? DSR_EINVAL : DSR_ENET, s, jerr, n,
                              "cannot update stream %s on %s to %lld replicas, duplicate "
                              "window %lld ms", n->stream, n->url, (long long)c->Replicas,
                              (long long)(c->Duplicates / NS_PER_MS));
            goto out;
        }
        fill_info(info, nsi);
        nats_lib.jsStreamInfo_Destroy(nsi);
        if (info)
            info->updated = 1;
        goto out;
    }
    fill_info(info, si);
out:
    nats_lib.jsStreamInfo_Destroy(si);
    return rc;
}
