/*
 * nats_lib.h - private to nats/: libnats, loaded on first use
 * (common/dynlib.h says why and how).
 *
 * Every libnats call in nats/ goes through the table: nats_lib.natsX(...)
 * stands for natsX(...), and is valid once nats_lib_load() has returned 0
 * (dsr_nats_connect loads it, so anything holding a dsr_nats may call).
 * The binary itself does not link libnats, so a plain call would not link.
 */
#ifndef DOSSIER_NATS_LIB_H
#define DOSSIER_NATS_LIB_H

#include <nats/nats.h>

#include "dossier/error.h"

#define NATS_LIB_FUNCS(X) \
    X(jsConsumerConfig_Init) X(jsConsumerInfo_Destroy) X(jsCtx_Destroy) \
    X(jsMsgMetaData_Destroy) X(jsOptions_Init) X(jsPubOptions_Init) \
    X(jsStreamConfig_Init) X(jsStreamInfo_Destroy) X(jsSubOptions_Init) \
    X(js_AddConsumer) X(js_AddStream) X(js_GetConsumerInfo) X(js_GetStreamInfo) \
    X(js_PublishAsyncGetPendingList) X(js_PublishMsgAsync) X(js_PullSubscribe) \
    X(js_UpdateStream) X(natsConnection_Connect) X(natsConnection_Destroy) \
    X(natsConnection_FlushTimeout) X(natsConnection_JetStream) X(natsMsgHeader_Get) \
    X(natsMsgList_Destroy) X(natsMsg_Ack) X(natsMsg_AckSync) X(natsMsg_Create) \
    X(natsMsg_Destroy) X(natsMsg_GetData) X(natsMsg_GetDataLength) \
    X(natsMsg_GetMetaData) X(natsMsg_GetSubject) X(natsMsg_Term) X(natsOptions_Create) \
    X(natsOptions_Destroy) X(natsOptions_SetMaxReconnect) X(natsOptions_SetName) \
    X(natsOptions_SetReconnectWait) X(natsOptions_SetServers) \
    X(natsOptions_SetTimeout) X(natsOptions_SetUserCredentialsFromFiles) \
    X(natsStatus_GetText) X(natsSubscription_Destroy) X(natsSubscription_Fetch) \
    X(nats_CloseAndWait) X(nats_GetLastError)

typedef struct nats_lib_fns {
#define NATS_LIB_SLOT(f) __typeof__(f) *f;
    NATS_LIB_FUNCS(NATS_LIB_SLOT)
#undef NATS_LIB_SLOT
} nats_lib_fns;

/* Filled by the first successful nats_lib_load(); read-only after it. */
extern nats_lib_fns nats_lib;

/* 0 when libnats is loaded; else DSR_EIO naming the library and the Debian
 * package (dynlib_load). */
int nats_lib_load(dsr_err *err);
/* 1 when libnats was loaded earlier in this process (nothing is loaded). */
int nats_lib_loaded(void);

#endif
