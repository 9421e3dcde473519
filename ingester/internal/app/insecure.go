package app

import (
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// insecureCreds serves plaintext; only reachable through --insecure.
func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }
