#!/usr/bin/env bash
# bench/rocksdb_libs.sh - print the linker flags for RocksDB the way the
# dossier binary links it (CMakeLists.txt, DOSSIER_STATIC_ROCKSDB): the static
# archive from librocksdb-dev plus librocksdb.so's own dependencies when the
# archive exists, else -lrocksdb.  The bench programs built from libdossier.a
# use it so that they measure what the binary does.
set -euo pipefail
archive=$(${CC:-cc} -print-file-name=librocksdb.a)
if [ "$archive" != librocksdb.a ] && [ -f "$archive" ]; then
  echo "$archive -lgflags -lsnappy -lz -lbz2 -llz4 -lzstd -lstdc++ -lm"
else
  echo "-lrocksdb"
fi
