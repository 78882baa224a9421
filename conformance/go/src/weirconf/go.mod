// weirconf is the GOPATH package of the legacy drivers (this file is ignored in
// GOPATH mode) and, through a replace directive in ../../mod/go.mod, the same
// code for the module-mode drivers.
module weirconf

go 1.19
