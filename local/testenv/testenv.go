// Package testenv holds what make test's runner (local/cmd/test) and the test helpers
// (local/enginetest) agree on: the variable that picks the engines of a run, and the skip reasons
// the runner reads to tell a skip it expects from one that needs a tool installed. It imports
// nothing, so that the runner compiles in seconds on an empty build cache.
package testenv

// EnvEngines names the environment variable holding the comma-separated engines a test binary
// runs its engine tests on ("dynalite", "moto"); unset or empty means every engine. make test runs
// the engine tests once per engine, so that each engine's minutes show apart.
const EnvEngines = "ENGINETEST_ENGINES"

// DynaliteOnly starts the skip reason of a test that runs on dynalite alone, in a run that
// excludes dynalite: the test ran, or runs, in the dynalite phase.
const DynaliteOnly = "dynalite only:"
