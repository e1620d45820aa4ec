# SPDX-License-Identifier: Apache-2.0
# agent collector integration tests: reboot required on real dpkg and rpm roots built with
# libs/lab, facts on a lab root and on this machine, systemctl where systemd does not run
# (included from tests/CMakeLists.txt; paths relative to tests/).
target_sources(pf_integration_tests PRIVATE
  integration/agent/reboot_deb_test.cpp
  integration/agent/reboot_rpm_test.cpp
  integration/agent/facts_host_test.cpp
  integration/agent/services_host_test.cpp)
target_link_libraries(pf_integration_tests PRIVATE patchflow::agent patchflow::lab patchflow::pkg)
