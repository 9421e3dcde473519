module github.com/ferrylog/ferry/internal

go 1.26
