// The k6 binary perf builds: k6's own command, unchanged, with perf's sample output
// compiled in (the way xk6 assembles extensions). Built by coordinator/k6-install.ts.
package main

import "go.k6.io/k6/v2/cmd"

func main() { cmd.Execute() }
