package spdkrpc

// CheckNoLeaks lets the external tests check for goroutines left by a Client.
var CheckNoLeaks = checkNoLeaks
