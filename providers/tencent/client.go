package tencent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// DefaultEndpoint is the CLB API's public endpoint.
const DefaultEndpoint = "clb.tencentcloudapi.com"

// Client calls CLB API actions through the Tencent Cloud SDK's common
// client, which signs each request (TC3-HMAC-SHA256).
type Client struct {
	sdk  *common.Client
	keys *keyring
}

// NewClient returns a client for region that signs with creds. endpoint is a host
// ("clb.tencentcloudapi.com", called over HTTPS) or a URL with its scheme
// ("http://127.0.0.1:8080" for a local simulator); "" is DefaultEndpoint.
func NewClient(creds Credentials, region, endpoint string) (*Client, error) {
	if !creds.complete() {
		return nil, errors.New("the SecretId and the SecretKey must both be set")
	}
	return NewClientFrom(StaticCredentials(creds), region, endpoint)
}

// NewClientFrom is NewClient with the key pair read from source at the
// first call (and again after the API rejects it).
func NewClientFrom(source CredentialSource, region, endpoint string) (*Client, error) {
	if source == nil {
		return nil, errors.New("no credential source")
	}
	if region == "" {
		return nil, errors.New("the region must be set (for example ap-guangzhou)")
	}
	scheme, host := "HTTPS", endpoint
	if host == "" {
		host = DefaultEndpoint
	}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("endpoint %q is not a host or an http(s)://host[:port] URL", endpoint)
		}
		scheme, host = strings.ToUpper(u.Scheme), u.Host
	}
	cp := profile.NewClientProfile()
	cp.HttpProfile.Endpoint = host
	cp.HttpProfile.Scheme = scheme
	cp.Language = "en-US"
	keys := &keyring{source: source}
	return &Client{sdk: common.NewCommonClient(keys, region, cp), keys: keys}, nil
}

// Call runs one action with req as its parameters and decodes the
// Response object into resp. A failed call returns the SDK's
// *TencentCloudSDKError (Code, Message) for answers with Response.Error,
// or the transport's error.
func (c *Client) Call(ctx context.Context, action string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r := tchttp.NewCommonRequest(Service, Version, action)
	r.SetContext(ctx)
	if err := r.SetActionParameters(body); err != nil {
		return err
	}
	if err := c.keys.load(ctx); err != nil {
		return tcerr.NewTencentCloudSDKError(ErrCredential, "reading the API key: "+err.Error(), "")
	}
	out := tchttp.NewCommonResponse()
	if err := c.sdk.Send(r, out); err != nil {
		if strings.HasPrefix(ErrorCode(err), "AuthFailure.Secret") || ErrorCode(err) == ErrSignatureFailure {
			c.keys.forget() // read again next call: the key may have been rotated
		}
		return err
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(out.GetBody(), &env); err != nil || env.Response == nil {
		return tcerr.NewTencentCloudSDKError("ClientError.ParseJsonError", "the answer has no Response object", "")
	}
	if resp == nil {
		return nil
	}
	return json.Unmarshal(env.Response, resp)
}

// ErrorCode returns the API error code of err ("" when err is not an API error).
func ErrorCode(err error) string {
	var e *tcerr.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
