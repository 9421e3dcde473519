module github.com/ferrylog/ferry/ingester

go 1.26
