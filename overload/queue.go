package overload

import "time"

// waiter is a request waiting for a slot. The limiter answers it once on
// ready: true for a slot, false for a refusal.
type waiter struct {
	prev, next *waiter
	list       *waitList // nil once it has left the queue
	class      Class
	deadline   time.Time
	ready      chan bool
}

// waitList is one class's queue: a doubly linked list, so that a waiter
// that gives up leaves it in constant time, from anywhere. The limiter's
// mutex guards it.
type waitList struct {
	head, tail *waiter
	n          int
}

func (q *waitList) pushBack(w *waiter) {
	w.list, w.prev, w.next = q, q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.list, w.prev, w.next = nil, nil, nil
	q.n--
}
