module github.com/ferrylog/ferry/plugin

go 1.26.0

require (
	github.com/ferrylog/ferry/proto v0.0.0-00010101000000-000000000000
	github.com/fluent/fluent-bit-go v0.0.0-20230731091245-a7a013e2473c
	go.uber.org/goleak v1.3.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/ugorji/go/codec v1.1.7 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)

replace github.com/ferrylog/ferry/proto => ../proto
