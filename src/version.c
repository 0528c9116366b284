/* SPDX-License-Identifier: MIT */
/* version.c - the version of the library that runs, for programs built against another. */
#include "plugbox.h"

unsigned plugbox_version(void)
{
    return PLUGBOX_VERSION_NUMBER;
}

const char *plugbox_version_string(void)
{
    return PLUGBOX_VERSION;
}
