module github.com/ferrylog/ferry/e2e

go 1.26
