// Package loadgen sends a steady stream of HTTP GETs to one loopback URL (the
// HAProxy frontend of the e2e stack) and counts every request that fails, so a
// test can prove that a rolling update behind the load balancer drops nothing.
//
// The generator is open-loop: request i is due at start + i/RPS whatever
// happened to the earlier ones, and each goes out on its own goroutine. When
// the generator itself falls behind (a stalled scheduler on a busy machine), it
// sends the overdue requests at once, so a run that is not cut short sends
// exactly ceil(Duration*RPS) requests. At most MaxInFlight requests are outstanding; a
// request due while that cap is reached is not sent and is counted as a
// failure of kind KindOverload, never skipped silently.
//
// Two connection modes: KeepAlive shares one http.Transport and reuses
// connections (as browsers and most clients do, the transport retries a GET
// once on a fresh connection when a reused idle connection turns out to be
// closed by the server); NewConnection dials a new TCP connection per request
// (DisableKeepAlives), which is what exposes a backend that stops accepting.
//
// Safety: the generator only ever talks to the URL it was given, refuses (with
// an error, before sending anything) a URL whose host is not a literal
// 127.0.0.0/8 address or "localhost", checks again at dial time that the
// address connected to is a loopback address, ignores proxy settings from the
// environment, and does not follow redirects. It stops by itself at
// Options.Duration or when its context ends.
//
// Times: every time recorded for a request (Failure.Start, Served.First and
// Served.Last, Report.FirstFailure and Report.LastFailure) is the time the
// request was sent; Failure.End is when its failure was observed. Latency is
// measured from send to the last byte of the body. Percentiles are exact:
// every successful request's latency is kept (8 bytes each, about 1 MB for
// 200 rps over ten minutes) and the nearest-rank percentile is taken over the
// sorted samples.
package loadgen
