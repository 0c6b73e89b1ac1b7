// Package dynaliteshim holds the tests of local/dynalite.js, the layer that gives dynalite the
// operations this project's contract needs and dynalite 4.0.0 lacks (TransactWriteItems, and the
// old item of a failed condition). Each behaviour is checked against dynalite and against moto,
// which implements them natively, over HTTP with aws-sdk-go-v2; the package has no code of its own.
package dynaliteshim
