/*
 * nats_raw_pub.c - the ceiling for `dossier publish` on this machine: a bare
 * libnats JetStream async publisher with nothing else to do.
 *
 * Usage: nats_raw_pub URL STREAM N BYTES WINDOW
 * Creates STREAM (file storage, subjects "STREAM.>"), publishes N messages of
 * BYTES bytes to STREAM.f<i%10>.t with js_PublishMsgAsync, Nats-Msg-Id set
 * (as dossier does) and at most WINDOW awaiting an ack, waits for every ack,
 * and prints one CSV line: raw,N,WINDOW,seconds,events_per_s
 * Timing (CLOCK_MONOTONIC) covers publishing and the acks, not the connect.
 */
#include <nats/nats.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int failures;

static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    (void)pa;
    (void)closure;
    if (pae)
        failures++;      /* one reply thread: no race */
    natsMsg_Destroy(m);
}

static int die(const char *what, natsStatus s)
{
    fprintf(stderr, "nats_raw_pub: %s: %s\n", what, natsStatus_GetText(s));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: nats_raw_pub URL STREAM N BYTES WINDOW\n");
        return 2;
    }
    const char *url = argv[1], *stream = argv[2];
    int n = atoi(argv[3]), bytes = atoi(argv[4]), window = atoi(argv[5]);
    if (n <= 0 || bytes <= 0 || window <= 0) {
        fprintf(stderr, "nats_raw_pub: N, BYTES and WINDOW must be positive\n");
        return 2;
    }
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s != NATS_OK)
        return die("connect", s);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = window;
    jo.PublishAsync.AckHandler = on_ack;
    jsCtx *js = NULL;
    if ((s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK)
        return die("jetstream", s);
    char subj_all[128];
    snprintf(subj_all, sizeof subj_all, "%s.>", stream);
    const char *subjects[1] = { subj_all };
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = stream;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    jsErrCode jerr = 0;
    if ((s = js_AddStream(NULL, js, &sc, NULL, &jerr)) != NATS_OK)
        return die("add stream", s);

    char *body = malloc((size_t)bytes);
    if (!body)
        return die("malloc", NATS_NO_MEMORY);
    memset(body, 'x', (size_t)bytes);
    char subj[160], id[40];
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        natsMsg *m = NULL;
        snprintf(subj, sizeof subj, "%s.f%d.t", stream, i % 10);
        snprintf(id, sizeof id, "%026d", i);
        if ((s = natsMsg_Create(&m, subj, NULL, body, bytes)) != NATS_OK)
            return die("msg", s);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = id;
        po.MaxWait = 10000;
        if ((s = js_PublishMsgAsync(js, &m, &po)) != NATS_OK) {
            natsMsg_Destroy(m);
            return die("publish", s);
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    if ((s = js_PublishAsyncComplete(js, &po)) != NATS_OK)
        return die("waiting for acks", s);
    double secs = now_s() - t0;
    if (failures)
        fprintf(stderr, "nats_raw_pub: %d publishes failed\n", failures);
    printf("raw,%d,%d,%.3f,%.0f\n", n, window, secs, n / secs);
    free(body);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_CloseAndWait(2000);
    return failures ? 1 : 0;
}
