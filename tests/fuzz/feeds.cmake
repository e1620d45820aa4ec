# SPDX-License-Identifier: Apache-2.0
# Fuzz targets of the feed importers, one per importer (included by tests/fuzz/CMakeLists.txt).
foreach(importer osv osv_archive debian_tracker csaf kev epss nvd)
  pf_add_fuzzer(feeds_${importer}_fuzz SOURCES feeds_${importer}_fuzz.cpp DEPS patchflow::feeds
    CORPUS feeds_${importer})
endforeach()
