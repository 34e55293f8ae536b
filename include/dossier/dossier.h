/*
 * dossier/dossier.h - umbrella header: everything an embedding program needs.
 *
 *   scan.h, manifest.h  index a mission folder against a manifest
 *   event.h, emit.h     the event contract and the one emitter
 *   log.h, record.h     the append-only RocksDB log; recording a scan run
 *   replay.h            projections: snapshots, baselines, drift
 *   deliver.h           webhook delivery
 *   nats.h              NATS JetStream publish/pull (with DOSSIER_WITH_NATS)
 *   scan_cache.h        the warm-scan cache kept beside a log
 *   verify.h            verifying and repairing a log
 *   ingest.h            scan -> record -> project -> deliver in one call
 *   import.h            which events from outside may enter a log
 *   watch.h             follow a mission folder, a scan run per change
 *   error.h, buf.h      error codes and the growable buffer
 *   export.h            DSR_API, the export marker
 *   version.h           the version, compile time and run time
 *
 * Link with `pkg-config --cflags --libs dossier`.
 */
#ifndef DOSSIER_DOSSIER_H
#define DOSSIER_DOSSIER_H

#include "dossier/export.h"
#include "dossier/version.h"
#include "dossier/profile.h"
#include "dossier/error.h"
#include "dossier/buf.h"
#include "dossier/manifest.h"
#include "dossier/scan.h"
#include "dossier/event.h"
#include "dossier/sk3.h"
#include "dossier/log.h"
#include "dossier/emit.h"
#include "dossier/record.h"
#include "dossier/replay.h"
#include "dossier/deliver.h"
#include "dossier/nats.h"     /* declares nothing unless DOSSIER_WITH_NATS */
#include "dossier/scan_cache.h"
#include "dossier/scan_settings.h"
#include "dossier/verify.h"
#include "dossier/ingest.h"
#include "dossier/import.h"
#include "dossier/watch.h"

#endif
