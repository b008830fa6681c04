// Package auth hashes passwords and issues and verifies access/refresh token
// pairs with rotation and reuse detection.
package auth
