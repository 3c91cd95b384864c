# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# server_test.sh: the common start of a server test, sourced with the test's own arguments:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/server_test.sh" "$@"
# Takes BUILD_DIR ($1, as $BUILD), sets $HERE (tests/integration), loads topology.sh and
# server_env.sh, installs srv_trap's clean-up, builds the topology, starts the inet services
# and runs srv_init. Tests that need a trap of their own or a different start do these steps
# themselves.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=topology.sh
. "$HERE/lib/topology.sh"
# shellcheck source=server_env.sh
. "$HERE/lib/server_env.sh"

srv_trap
topo_up
start_inet_services
srv_init "$BUILD"
