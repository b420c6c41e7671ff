package signaling

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// reuseAttrs is an interceptor that gives every packet of a remote stream the same Attributes
// map and the same parsed *rtp.Header. Without it the receive-side interceptors (NACK generator,
// receiver reports) allocate a map and a header for each packet. It must be registered first,
// so that it sits next to the SRTP reader and the others see its attributes. The interceptors
// use the header only while handling the packet, and one goroutine reads each stream, so
// reusing them is safe.
type reuseAttrs struct{}

func (reuseAttrs) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &reuseAttrsInterceptor{}, nil
}

type reuseAttrsInterceptor struct{ interceptor.NoOp }

func (*reuseAttrsInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	attrs := interceptor.Attributes{}
	header := &rtp.Header{}
	var key any // the interceptor package's own (unexported) key for the parsed header
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil || a != nil {
			return n, a, err
		}
		if key == nil {
			// First packet: let the interceptor package file its header, then learn its key.
			clear(attrs)
			h, err := attrs.GetRTPHeader(b[:n])
			if err != nil {
				return n, nil, nil // leave it to the next interceptor to refuse
			}
			for k, v := range attrs {
				if v == h {
					key, header = k, h
				}
			}
			return n, attrs, nil
		}
		if _, err := header.Unmarshal(b[:n]); err != nil {
			return n, nil, nil
		}
		attrs[key] = header
		return n, attrs, nil
	})
}
