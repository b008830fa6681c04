//go:build !linux

package testdb

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
