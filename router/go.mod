module github.com/ferrylog/ferry/router

go 1.26
