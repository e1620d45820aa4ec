# SPDX-License-Identifier: Apache-2.0
# agent fuzz targets (included from tests/fuzz/CMakeLists.txt): the parsers of the host facts,
# systemctl's unit list and the reboot check's inputs.
pf_add_fuzzer(agent_facts_fuzz SOURCES agent_facts_fuzz.cpp DEPS patchflow::agent
  CORPUS agent_facts)
pf_add_fuzzer(agent_services_fuzz SOURCES agent_services_fuzz.cpp DEPS patchflow::agent
  CORPUS agent_services)
pf_add_fuzzer(agent_reboot_fuzz SOURCES agent_reboot_fuzz.cpp DEPS patchflow::agent
  CORPUS agent_reboot)
pf_add_fuzzer(agent_health_fuzz SOURCES agent_health_fuzz.cpp DEPS patchflow::agent
  CORPUS agent_health)
