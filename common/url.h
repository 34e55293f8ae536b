/*
 * url.h - URLs as dossier prints them.  Webhook and NATS URLs may carry
 * credentials (user:password@host, ?token=...); every message, report and
 * listing shows them through url_redact so no secret reaches a terminal, a
 * log file or a CI transcript.
 */
#ifndef DOSSIER_URL_H
#define DOSSIER_URL_H

/* Copy of url with any userinfo replaced by "***" and every query value
 * masked (keys kept); the caller frees it.  NULL when out of memory. */
char *url_redact(const char *url);
/* The same for a comma-separated list of URLs (a NATS server list): each
 * element is redacted on its own. */
char *url_redact_list(const char *urls);

#endif
