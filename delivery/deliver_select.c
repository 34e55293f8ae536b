/*
 * deliver_select.c - which events an endpoint selects: its event types (a
 * bit mask over dsr_event_type) and its feature slugs; no filter selects
 * everything.  Used by the engine to skip events and by the counts.
 */
#include "deliver.h"

#include <string.h>

int deliver_type_mask(const dsr_endpoint_info *ep, uint64_t *mask, dsr_err *err)
{
    *mask = 0;
    for (size_t i = 0; i < ep->n_types; i++) {
        dsr_event_type t;
        if (dsr_event_type_parse(ep->types[i], strlen(ep->types[i]), &t) < 0)
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: unknown event type '%s'",
                               ep->name, ep->types[i]);
        *mask |= UINT64_C(1) << t;
    }
    if (ep->profile == DSR_PROFILE_SPEC_KITTY_3) {
        /* the internal types have no spec-kitty-3 rendering: never sent */
        uint64_t four = 0, all = (UINT64_C(1) << DSR_EV_COUNT) - 1;
        for (int t = 0; t < DSR_EV_COUNT; t++)
            if (t != DSR_EV_SCAN_COMPLETED && t != DSR_EV_BASELINE_ACCEPTED
                && t != DSR_EV_ARTIFACT_REMOVED)
                four |= UINT64_C(1) << t;
        uint64_t m = (*mask ? *mask : all) & four;
        if (!m)
            return dsr_err_set(err, DSR_EINVAL, "endpoint %s: none of its event types has a "
                               "spec-kitty-3 rendering", ep->name);
        *mask = m;
    }
    return 0;
}

int deliver_selects(const dsr_endpoint_info *ep, uint64_t type_mask,
                        const dsr_envelope *env)
{
    if (type_mask && !(type_mask & (UINT64_C(1) << env->type)))
        return 0;
    if (ep->n_features == 0)
        return 1;
    for (size_t i = 0; i < ep->n_features; i++) {
        const char *f = ep->features[i];
        if (env->feature_slug.ptr && strlen(f) == env->feature_slug.len &&
            !memcmp(f, env->feature_slug.ptr, env->feature_slug.len))
            return 1;
    }
    return 0;
}
