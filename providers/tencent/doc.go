// Package tencent is the lbgate provider for Tencent Cloud's Cloud Load
// Balancer (CLB): it binds pod IPs to a CLB listener (layer 4) or to a
// forwarding rule of a listener (layer 7) through the CLB API, version
// 2018-03-17, called with the Tencent Cloud SDK's common client.
//
// A target id is "lb-xxxx/lbl-yyyy" for a layer-4 listener and
// "lb-xxxx/lbl-yyyy/loc-zzzz" for a layer-7 rule.
package tencent
