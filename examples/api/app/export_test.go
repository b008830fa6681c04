package app

// TracesWanted is tracesWanted, for TestEnvExample.
var TracesWanted = tracesWanted
