// Package tencent is the lbgate provider for Tencent Cloud's Cloud Load
// Balancer (CLB): it binds pod IPs to a CLB listener (layer 4) or to a
// forwarding rule of a listener (layer 7) through the CLB API, version
// 2018-03-17, called with the Tencent Cloud SDK's common client.
//
// A target id is "lb-xxxx/lbl-yyyy" for a layer-4 listener and
// "lb-xxxx/lbl-yyyy/loc-zzzz" for a layer-7 rule.
//
// Both network modes bind the pod IP as the target's EniIp: in ENI mode
// it is a VPC address; in global-router mode the container range must be
// routable from the VPC (registered in a CCN). The provider does not see
// the mode (providers.Target carries none); the controller binds only pods
// whose IP is inside the mode's ranges (--eni-cidrs, --global-router-cidrs),
// so list only ranges the CLB can reach.
//
// The local CLB in clbsim speaks the same API for tests.
package tencent
