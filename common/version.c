/*
 * version.c - the linked library's version (dossier/version.h).
 */
#include "dossier/version.h"

const char *dsr_version(void)
{
    return DSR_VERSION_STRING;
}

unsigned dsr_version_number(void)
{
    return DSR_VERSION_NUMBER;
}
