#!/usr/bin/env python3
"""Generate man/dossier.1.in from the binary's own --help texts.

The man page is the help text of every command, laid out as roff, between
hand-written sections (NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS, ENVIRONMENT,
FILES, EXAMPLES, SEE ALSO); the global options are those of `dossier --help`.
Because it is generated, `--help` and the man page cannot disagree;
tests/e2e/cli_docs.sh regenerates it and fails when the committed page is
stale.

The page is a template: installed paths are @CMAKE_INSTALL_FULL_...@
placeholders that CMake's configure_file fills in with the configured
prefix (build/man/dossier.1 is what `cmake --install` installs).  Pointers
the help texts make into the source tree (docs/X.md, schemas/) are turned
into the installed copies.

Usage: gen_man.py DOSSIER_BINARY > man/dossier.1.in
"""
import re
import subprocess
import sys

HEAD = r""".TH DOSSIER 1 "" "dossier @VERSION@" "User Commands"
.SH NAME
dossier \- index mission artifacts and record them as events in a crash\-safe log
.SH SYNOPSIS
.B dossier
.RB [ \-q " | " \-v ]
.RB [ \-\-log
.IR DIR ]
.RB [ \-\-color [= \fIWHEN\fR ]]
.I command
.RI [ options ]
.RI [ args ]
.br
.B dossier help
.I command
.br
.B dossier
.RB [ \-\-help " | " \-\-version ]
.SH DESCRIPTION
.B dossier
walks a mission folder (a feature folder of specs, plans, tasks and
evidence), hashes every artifact in parallel (SHA\-256 and XXH3\-128 in one
pass), matches the files against a manifest of expected artifacts and
records what it finds as validated events in an append\-only RocksDB log.
Snapshots, drift from an accepted baseline, webhook delivery and NATS
JetStream mirroring are projections replayed from that log.
.PP
Every command accepts
.BR \-\-help
and the global options below, before or after its name.
Errors are printed on standard error as one line,
.IR "dossier command: what: why" .
"""

TAIL = r""".SH EXIT STATUS
The same codes are used by every command:
.TP
.B 0
success; the scan is complete (or has no manifest); no drift
.TP
.B 1
a required artifact is missing or unusable; invalid input found; verify found problems
.TP
.B 2
usage error or broken manifest (nothing was done)
.TP
.B 3
I/O failure: a folder or the log cannot be read or written, or the log is locked
.TP
.B 4
drift from the accepted baseline
.TP
.B 5
not comparable: a baseline is accepted but the latest snapshot cannot be
compared with it (another branch, mission type or manifest version)
.SH REPORTS
The reports use one set of words (@CMAKE_INSTALL_FULL_DOCDIR@/reports.md).
Counts, the same in
.BR index ,
.BR scan ,
.BR status ,
.B snapshot
and
.BR log :
.I present
(found and usable),
.I missing required
(no file, or an
.I unusable
one: unreadable, not UTF\-8, deleted while scanned),
.I absent optional
(an optional manifest entry no file matches), and
.I total
= present + missing required + absent optional.
An unusable file no manifest entry requires is in no count.
.PP
.I events
are the events a scan run recorded (its sequences first..last);
.I head
is the highest sequence in the log, above the run's last once the
projections have appended the snapshot and drift events.
.PP
Every
.B \-\-json
report has a JSON Schema (draft 2020\-12) under
.IR schemas/reports/ ;
the same concept has the same name and shape in every report:
.BR artifact_counts ,
.BR missing_required ,
.BR parity_hash_sha256 ,
the
.B baseline
object and the
.B drift
object (status, missing_in_local, missing_in_baseline, changed, ...).
.SH ENVIRONMENT
.TP
.B DOSSIER_LOG
log folder used when
.B \-\-log
is not given
.TP
.B DOSSIER_WEBHOOK_SECRET
webhook signing secret used when no secret file is given
.TP
.B DOSSIER_LOG_LEVEL
verbosity of diagnostics: error, warn (default), info or debug
.TP
.B DOSSIER_BATCH_EVENTS
events per atomic, fsync'd batch (default 16384)
.TP
.B DOSSIER_IO_URING
0 makes
.B index
and
.B scan
read every file with plain system calls; by default small files are
opened, read and closed in batches through io_uring where the kernel offers
it (same results, less time spent entering the kernel)
.TP
.B DOSSIER_LIBCURL
the libcurl file that
.BR deliver ,
.B endpoint add
and a scan that delivers load when they first need it (default: the
libcurl.so.4 the build found; no other command loads libcurl)
.TP
.B DOSSIER_LIBNATS
the libnats file that
.B publish
and
.B pull
load (default: the libnats.so.3.4 the build found)
.TP
.B MALLOC_CONF
jemalloc's options, read after the ones built into
.B dossier
(thp:always,metadata_thp:auto,narenas:1: transparent huge pages, one arena),
so they win; e.g.
.I thp:default,narenas:8
undoes them
.TP
.B OPENSSL_CONF
an OpenSSL configuration file to read (a FIPS set\-up, say); without it
.B dossier
does not read the system's openssl.cnf (it uses only SHA\-256 and HMAC from
OpenSSL's default provider)
.TP
.B NO_COLOR
when set, never use colour
.PP
Precedence: a command\-line flag wins over the environment, which wins over
what is saved in the log (endpoints, baselines), which wins over the default.
.SH FILES
.TP
.I MISSION_DIR/.dossier/
default event log of a mission (a RocksDB database); skipped by the scanner
.TP
.I LOGDIR/delivery/
webhook delivery state (endpoints, cursors, dead letters)
.TP
.I LOGDIR/publish/
NATS publish cursors
.TP
.I @CMAKE_INSTALL_FULL_DATADIR@/dossier/schemas/
JSON Schemas of every event type and of the envelope
.TP
.I @CMAKE_INSTALL_FULL_DATADIR@/dossier/schemas/reports/
JSON Schemas (draft 2020\-12) of every
.B \-\-json
report, one per command (status.schema.json, drift.schema.json, ...), and
common.schema.json with the names and shapes they share
.TP
.I @CMAKE_INSTALL_FULL_DATADIR@/dossier/manifests/
the built\-in manifests (also compiled into the binary)
.TP
.I @CMAKE_INSTALL_FULL_DATADIR@/bash\-completion/completions/dossier
.TQ
.I @CMAKE_INSTALL_FULL_DATADIR@/zsh/site\-functions/_dossier
shell completion for bash and zsh; both ask the binary being completed
.RB ( "dossier __complete" )
.TP
.I @CMAKE_INSTALL_FULL_DOCDIR@/
the README and the documents on scanning, the event contract, the log,
projections, delivery and interoperability
.SH EXAMPLES
Scan a mission, accept the result as the baseline, and explain what drifted
after a change:
.PP
.nf
.RS
dossier scan kitty\-specs/042\-x \-\-mission\-type software\-dev
dossier baseline accept \-\-log kitty\-specs/042\-x/.dossier
dossier scan kitty\-specs/042\-x \-\-mission\-type software\-dev
dossier drift \-\-log kitty\-specs/042\-x/.dossier
.RE
.fi
.PP
Copy one log into another (idempotent):
.PP
.nf
.RS
dossier events \-\-log a/.dossier | dossier import \- \-\-log b/.dossier
.RE
.fi
.SH SEE ALSO
.BR sha256sum (1),
.BR aide (1),
.BR jq (1)
.PP
.I @CMAKE_INSTALL_FULL_DOCDIR@/README.md
and the other documents there describe the event contract, the durability
and delivery guarantees and the benchmarks.
"""


# Source-tree paths the help texts mention, and where they are installed.
INSTALLED = [
    (re.compile(r"(?<![\w/])docs/([\w.-]+\.md)"), r"@CMAKE_INSTALL_FULL_DOCDIR@/\1"),
    (re.compile(r"(?<![\w/])schemas/"), "@CMAKE_INSTALL_FULL_DATADIR@/dossier/schemas/"),
]


def installed_paths(text):
    for pat, repl in INSTALLED:
        text = pat.sub(repl, text)
    return text


def esc(text):
    """Escape text for roff: backslashes, hyphens, leading dots/quotes."""
    text = installed_paths(text)
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith(".") or text.startswith("'"):
        text = "\\&" + text
    return text


OPT = re.compile(r"^  (\S.*?)(?:\s{2,}(\S.*))?$")


def section_for(name, helptext):
    out = [f'.SS "dossier {name}"']
    lines = helptext.rstrip("\n").split("\n")
    i = 0
    in_opts = False
    verbatim = False
    para = []

    def flush():
        if para:
            out.append(".PP")
            out.extend(esc(p.strip()) if not p.startswith("  ") else esc(p) for p in para)
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("Usage: "):
            out.append(".PP")
            out.append(".B " + esc(line[len("Usage: "):]))
        elif not line.strip():
            flush()
            if verbatim:
                out.append(".fi")
            in_opts = verbatim = False
        elif re.match(r"^[A-Z][A-Za-z ]*:$", line):
            flush()
            out.append(".PP")
            out.append(f"\\fI{esc(line[:-1])}\\fR")
            if line.startswith("Example"):
                out.append(".nf")
                verbatim = True
            else:
                in_opts = True
        elif verbatim:
            out.append(esc(line))
        elif in_opts and line.startswith("  "):
            m = OPT.match(line)
            tag, desc = (m.group(1), m.group(2) or "") if m else (line.strip(), "")
            out.append(".TP")
            out.append(f"\\fB{esc(tag.strip())}\\fR")
            if desc:
                out.append(esc(desc))
            while i + 1 < len(lines) and lines[i + 1].startswith("    ") and not OPT.match(lines[i + 1]):
                i += 1
                out.append(esc(lines[i].strip()))
        else:
            para.append(line)
        i += 1
    flush()
    if verbatim:
        out.append(".fi")
    return "\n".join(out) + "\n"


def global_options(top):
    """The GLOBAL OPTIONS section: the block of that name in dossier --help."""
    out = [".SH GLOBAL OPTIONS"]
    lines = top.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("Global options"))
    out.append(esc(lines[start].rstrip(":")) + ".")
    for line in lines[start + 1:]:
        if not line.strip():
            break
        m = OPT.match(line)
        if m:
            out.append(".TP")
            out.append(f"\\fB{esc(m.group(1).strip())}\\fR")
            if m.group(2):
                out.append(esc(m.group(2)))
        else:
            out.append(esc(line.strip()))
    return "\n".join(out) + "\n"


def main():
    binary = sys.argv[1]
    top = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[-1]
    commands = []
    on = False
    for line in top.split("\n"):
        if line.startswith("Commands:"):
            on = True
            continue
        if on and line.startswith("  "):
            commands.append(line.split()[0])
        elif on and commands and not line.strip():
            break
    page = [HEAD.replace("@VERSION@", version), global_options(top), ".SH COMMANDS\n"]
    for c in commands:
        helptext = subprocess.run([binary, c, "--help"], capture_output=True, text=True,
                                  check=True).stdout
        page.append(section_for(c, helptext))
    page.append(TAIL)
    sys.stdout.write("".join(page))


if __name__ == "__main__":
    main()
