package testdb

import "syscall"

// childAttr makes the kernel kill a started server when the test binary
// dies, so no server outlives a crashed test.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
