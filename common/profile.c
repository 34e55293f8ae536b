/*
 * profile.c - names of the compatibility profiles (dossier/profile.h).
 */
#include "dossier/profile.h"

#include <string.h>

static const char *const profile_names[] = {
    [DSR_PROFILE_WP04] = "wp04",
    [DSR_PROFILE_SPEC_KITTY_3] = "spec-kitty-3",
};

const char *dsr_profile_name(dsr_profile p)
{
    if ((unsigned)p >= sizeof profile_names / sizeof profile_names[0])
        return NULL;
    return profile_names[p];
}

int dsr_profile_parse(const char *name, dsr_profile *out)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < sizeof profile_names / sizeof profile_names[0]; i++)
        if (strcmp(name, profile_names[i]) == 0) {
            *out = (dsr_profile)i;
            return 0;
        }
    return -1;
}
