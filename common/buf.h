/* buf.h - private spelling of the public growable buffer (dossier/buf.h). */
#ifndef DOSSIER_COMMON_BUF_H
#define DOSSIER_COMMON_BUF_H
#include "dossier/buf.h"
#endif
